"""Fault plans for :attr:`FakeBotApi.fault`: answer some calls with errors, as Telegram does
under load or in an outage."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .server import ApiError

Fault = Callable[[str, dict[str, Any]], ApiError | None]


def every_nth(
    n: int,
    methods: Collection[str] = ("sendMessage",),
    error_code: int = 502,
    description: str = "Bad Gateway",
) -> Fault:
    """Fail the n-th, 2n-th, ... call of ``methods`` (counted together) with ``error_code``."""
    count = 0

    def fault(method: str, _params: dict[str, Any]) -> ApiError | None:
        nonlocal count
        if method not in methods:
            return None
        count += 1
        return ApiError(error_code, description) if count % n == 0 else None

    return fault
