"""Store fixtures shared by the store tests: each test runs on SQLite (a tmp file) and on
PostgreSQL (its own schema), see tests/test_store.py's docstring."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from store import Store
from store.engine import create_store_engine, normalize_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("LDN_TEST_PG_URL", DEFAULT_PG_URL)
REQUIRE_PG = os.environ.get("LDN_REQUIRE_PG") == "1"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database, or a skip (a failure under CI)."""
    url = normalize_url(PG_URL)
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": "5"})
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        cause = getattr(exc, "orig", None) or exc
        reason = f"PostgreSQL unreachable at {url.render_as_string()}: {cause}"
        if REQUIRE_PG:
            pytest.fail(f"LDN_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: Engine) -> Iterator[str]:
    """A URL whose connections see only a fresh, private schema."""
    schema = f"t_{uuid.uuid4().hex}"
    with pg_admin_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(PG_URL)
    existing = url.query.get("options", ())
    options = " ".join(
        [*([existing] if isinstance(existing, str) else existing), f"-csearch_path={schema}"]
    )
    try:
        yield url.update_query_dict({"options": options}).render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def raw_engine(db_url: str) -> Iterator[Engine]:
    """A second engine on the same database, for looking behind the store's back."""
    engine = create_store_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
