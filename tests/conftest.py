"""Shared fixtures. The environment is kept clean so a developer's token never leaks in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest_plugins = ("tests.storefixtures",)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LDN_BOT_TOKEN", raising=False)
    yield
