"""Tests of the storage layer, each run on SQLite (a tmp file) and on PostgreSQL.

PostgreSQL comes from ``LDN_TEST_PG_URL`` (default below). When it is unreachable the
PostgreSQL cases are skipped, except with ``LDN_REQUIRE_PG=1`` (CI), where they fail. Every
PostgreSQL test gets its own schema (``t_<uuid>``, first and only entry of ``search_path``,
so Alembic's version table lives there too), dropped with CASCADE afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, ForeignKey, create_engine, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from store import (
    ChatRecord,
    MigrationError,
    Store,
    StoreError,
    UnansweredCount,
    UnknownChatError,
    head_revision,
)
from store.engine import create_store_engine, normalize_url
from store.migrate import MIGRATION_LOCK_KEY
from store.models import CHAT_LINKED_TABLES, Base

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("LDN_TEST_PG_URL", DEFAULT_PG_URL)
REQUIRE_PG = os.environ.get("LDN_REQUIRE_PG") == "1"

NOW = datetime(2025, 3, 14, 21, 30, tzinfo=UTC)
EXPECTED_TABLES = {
    "alembic_version",
    "chats",
    "chat_preferences",
    "events",
    "evenings",
    "plan_drafts",
    "regimens",
    "reminder_followups",
    "unanswered_questions",
}

T = TypeVar("T")


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


def run_in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for i in range(count) on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def start(i: int) -> T:
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start, i) for i in range(count)]
        return [future.result(timeout=120) for future in futures]


# -- migrations ----------------------------------------------------------------------------


def test_open_migrates_empty_database_to_head(store: Store, raw_engine: Engine) -> None:
    assert store.schema_revision() == head_revision()
    assert set(inspect(raw_engine).get_table_names()) == EXPECTED_TABLES
    with raw_engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
        assert list(versions) == [head_revision()]


@pytest.mark.postgres
def test_postgres_tables_live_in_the_test_schema(pg_url: str) -> None:
    with Store.open(pg_url) as opened:
        assert opened.backend == "postgresql"
    engine = create_store_engine(pg_url)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("t_")
            rows = conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
            assert {row.table_name for row in rows} == EXPECTED_TABLES
    finally:
        engine.dispose()


def test_open_twice_is_idempotent(db_url: str) -> None:
    with Store.open(db_url) as first:
        first.record_chat(1, "private", NOW, started=True)
        first.set_preference(1, "reminder_time", "21:30", NOW)
        # A second store on a database already at head: no-op migration, shared data.
        with Store.open(db_url) as second:
            assert second.schema_revision() == head_revision()
            assert second.get_preferences(1) == {"reminder_time": "21:30"}
    with Store.open(db_url) as third:
        assert third.schema_revision() == head_revision()
        assert third.started_chat_ids() == [1]


def test_concurrent_open_of_empty_database(db_url: str) -> None:
    """Two bot processes starting at once: the migration lock serialises the upgrade."""

    def open_and_check(_: int) -> str | None:
        with Store.open(db_url) as opened:
            return opened.schema_revision()

    assert run_in_threads(4, open_and_check) == [head_revision()] * 4


OPEN_IN_SUBPROCESS = """
import sys
from store import Store
print("opening", flush=True)
with Store.open(sys.argv[1]) as opened:
    assert opened.schema_revision() == sys.argv[2], opened.schema_revision()
"""


def test_concurrent_open_from_several_processes(db_url: str, tmp_path: Path) -> None:
    """Bot processes that start together all wait for the migration lock, then succeed.

    The test holds the lock (PostgreSQL advisory lock / SQLite write lock) while the
    processes start, so they pile up on it and then race as soon as it is released.
    """
    engine = create_store_engine(db_url)
    try:
        with engine.connect() as holder:
            postgres = holder.dialect.name == "postgresql"
            if postgres:
                holder.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
                holder.commit()
            else:
                holder.execution_options(ldn_write=True).begin()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-c", OPEN_IN_SUBPROCESS, db_url, head_revision()],
                    cwd=Path(__file__).resolve().parent.parent,
                    stdout=subprocess.PIPE,
                )
                for _ in range(3)
            ]
            try:
                _wait_until_blocked(holder, postgres, procs)
                assert not inspect(holder).has_table("alembic_version")
            finally:
                if postgres:
                    holder.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                holder.rollback()
                returncodes = [_wait(proc) for proc in procs]
    finally:
        engine.dispose()
    assert returncodes == [0, 0, 0]


def _wait_until_blocked(
    holder: Connection, postgres: bool, procs: list[subprocess.Popen[bytes]]
) -> None:
    # Every process has imported the store and is about to open it (event-based: its line).
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"opening"
    if not postgres:  # SQLite has no lock table: the processes now meet the held write lock.
        return
    # PostgreSQL shows the waiters: poll the lock table until all three wait on the lock.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = holder.execute(
            text(
                "SELECT count(*) FROM pg_locks, pg_sleep(0.02) "
                "WHERE locktype = 'advisory' AND NOT granted"
            )
        ).scalar_one()
        holder.commit()
        if waiting >= len(procs):
            return
    pytest.fail(f"the {len(procs)} processes never waited on the migration lock")


def _wait(proc: subprocess.Popen[bytes]) -> int:
    try:
        return proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


def test_migrations_produce_exactly_the_models_schema(store: Store, raw_engine: Engine) -> None:
    with raw_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_database_ahead_of_code_is_a_migration_error(db_url: str, raw_engine: Engine) -> None:
    Store.open(db_url).close()
    with raw_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff'"))
    with pytest.raises(MigrationError):
        Store.open(db_url)


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"
    Store.open(url).close()
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://localhost/db",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql+psycopg2://localhost/db",
        "not a url",
    ],
)
def test_unsupported_urls_are_store_errors(url: str) -> None:
    with pytest.raises(StoreError):
        Store.open(url)


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    assert not isinstance(info.value, MigrationError)


def test_closed_store_refuses_work(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.get_chat(1)


# -- chats ---------------------------------------------------------------------------------


def test_record_chat_inserts_then_updates(store: Store) -> None:
    assert store.get_chat(42) is None
    store.record_chat(42, "private", NOW, language_code="de")
    assert store.get_chat(42) == ChatRecord(
        chat_id=42,
        kind="private",
        first_seen=NOW,
        last_seen=NOW,
        started=False,
        language_code="de",
    )

    later = NOW + timedelta(hours=2)
    store.record_chat(42, "private", later, started=True)
    record = store.get_chat(42)
    assert record is not None
    assert (record.first_seen, record.last_seen) == (NOW, later)
    assert record.started is True
    assert record.language_code == "de"  # None does not erase a known language

    store.record_chat(42, "private", later + timedelta(minutes=1), language_code="fr")
    record = store.get_chat(42)
    assert record is not None
    assert record.started is True  # stays True once True
    assert record.language_code == "fr"
    assert record.last_seen == later + timedelta(minutes=1)


def test_record_chat_out_of_order_times(store: Store) -> None:
    store.record_chat(7, "group", NOW)
    store.record_chat(7, "supergroup", NOW - timedelta(days=1))  # a late, older update
    record = store.get_chat(7)
    assert record is not None
    assert record.kind == "supergroup"
    assert record.first_seen == NOW - timedelta(days=1)
    assert record.last_seen == NOW  # never moves backwards


def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    plus_two = datetime(2025, 3, 14, 23, 30, tzinfo=timezone(timedelta(hours=2)))
    store.record_chat(-100123, "supergroup", plus_two)
    record = store.get_chat(-100123)
    assert record is not None
    assert record.last_seen == NOW
    assert record.last_seen.tzinfo == UTC
    assert record.last_seen.utcoffset() == timedelta(0)


def test_invalid_arguments_are_value_errors(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.record_chat(1, "private", datetime(2025, 3, 14, 21, 30))
    with pytest.raises(ValueError, match="kind"):
        store.record_chat(1, "channel", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status"):
        store.record_unanswered("q", "nope", NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.unanswered_report(NOW, retention_days=-1)
    with pytest.raises(ValueError):
        store.unanswered_report(NOW, retention_days=30, limit=0)
    assert store.get_chat(1) is None


def test_started_chat_ids(store: Store) -> None:
    store.record_chat(30, "private", NOW, started=True)
    store.record_chat(10, "private", NOW, started=True)
    store.record_chat(20, "group", NOW)
    store.record_chat(-5, "supergroup", NOW, started=True)
    assert store.started_chat_ids() == [-5, 10, 30]


def test_concurrent_record_chat(store: Store) -> None:
    """Many threads upserting the same chats at once: no error, no lost update."""
    threads, rounds, chats = 8, 25, 4

    def hammer(worker: int) -> None:
        for i in range(rounds):
            chat_id = 1000 + (worker + i) % chats
            now = NOW + timedelta(seconds=worker * rounds + i)
            store.record_chat(chat_id, "private", now, started=(worker == 3 and i == 5))

    run_in_threads(threads, hammer)

    latest = NOW + timedelta(seconds=threads * rounds - 1)
    records = [store.get_chat(1000 + c) for c in range(chats)]
    assert all(record is not None for record in records)
    assert max(r.last_seen for r in records if r is not None) == latest
    assert store.started_chat_ids() == [1000 + (3 + 5) % chats]
    assert min(r.first_seen for r in records if r is not None) == NOW


async def test_store_is_usable_from_asyncio_to_thread(store: Store) -> None:
    await asyncio.gather(
        *(asyncio.to_thread(store.record_chat, i, "private", NOW, started=True) for i in range(20))
    )
    assert await asyncio.to_thread(store.started_chat_ids) == list(range(20))


# -- preferences ---------------------------------------------------------------------------


def test_preferences(store: Store) -> None:
    store.record_chat(1, "private", NOW)
    store.record_chat(2, "private", NOW)
    assert store.get_preferences(1) == {}

    store.set_preference(1, "reminder_time", "21:00", NOW)
    store.set_preference(1, "language", "en", NOW)
    store.set_preference(2, "reminder_time", "22:00", NOW)
    store.set_preference(1, "reminder_time", "21:30", NOW + timedelta(minutes=1))

    assert store.get_preferences(1) == {"language": "en", "reminder_time": "21:30"}
    assert store.get_preferences(2) == {"reminder_time": "22:00"}


def test_preference_for_unknown_chat(store: Store) -> None:
    with pytest.raises(UnknownChatError):
        store.set_preference(404, "reminder_time", "21:00", NOW)
    with pytest.raises(LookupError):
        store.set_preference(404, "reminder_time", "21:00", NOW)
    assert store.get_preferences(404) == {}


# -- forget --------------------------------------------------------------------------------


def test_forget_chat_deletes_everything_about_it_and_nothing_else(store: Store) -> None:
    for chat_id in (1, 2):
        store.record_chat(chat_id, "private", NOW, started=True, language_code="en")
        store.set_preference(chat_id, "reminder_time", "21:00", NOW)
        store.set_preference(chat_id, "language", "en", NOW)
    store.record_unanswered("what is ldn", "fallback", NOW)
    before = store.rows_about_chat(2)
    assert store.rows_about_chat(1) == before == 3

    assert store.forget_chat(1) == 3
    assert store.rows_about_chat(1) == 0
    assert store.get_chat(1) is None
    assert store.get_preferences(1) == {}

    assert store.rows_about_chat(2) == before
    assert store.get_preferences(2) == {"language": "en", "reminder_time": "21:00"}
    assert store.started_chat_ids() == [2]
    assert store.unanswered_report(NOW, retention_days=30) == [
        UnansweredCount("what is ldn", 1, NOW)
    ]

    assert store.forget_chat(1) == 0  # nothing left, not an error
    store.record_chat(1, "private", NOW + timedelta(days=1))  # and the chat may come back
    record = store.get_chat(1)
    assert record is not None
    assert not record.started


def test_every_table_about_a_chat_is_registered_for_forget() -> None:
    registered = {link.table.name for link in CHAT_LINKED_TABLES}
    for table in Base.metadata.sorted_tables:
        refers_to_chats = any(
            isinstance(fk, ForeignKey) and fk.column.table.name == "chats"
            for fk in table.foreign_keys
        )
        if "chat_id" in table.c or refers_to_chats:
            assert table.name in registered, f"{table.name} is not in CHAT_LINKED_TABLES"
    assert "unanswered_questions" not in registered
    assert not any(
        "chat" in column.name for column in Base.metadata.tables["unanswered_questions"].c
    )


# -- unanswered questions ------------------------------------------------------------------


def test_unanswered_retention(store: Store) -> None:
    asked: list[tuple[str, timedelta]] = [
        ("too old", timedelta(days=40)),
        ("just expired", timedelta(days=30, microseconds=1)),
        ("on the boundary", timedelta(days=30)),
        ("recent", timedelta(days=1)),
    ]
    for question, age in asked:
        store.record_unanswered(question, "fallback", NOW - age)

    in_window = {entry.question for entry in store.unanswered_report(NOW, retention_days=30)}
    assert in_window == {"on the boundary", "recent"}

    assert store.purge_unanswered(NOW, retention_days=30) == 2
    assert store.purge_unanswered(NOW, retention_days=30) == 0
    everything = store.unanswered_report(NOW, retention_days=10_000)
    assert {entry.question for entry in everything} == in_window


def test_unanswered_report_ordering(store: Store) -> None:
    def ask(question: str, hours_ago: float, status: Any = "fallback") -> None:
        store.record_unanswered(question, status, NOW - timedelta(hours=hours_ago))

    for hours_ago in (1.0, 5.0, 9.0):
        ask("dose timing", hours_ago)
    for hours_ago in (2.0, 3.0):
        ask("vivid dreams", hours_ago, "clarify")
    for hours_ago in (4, 0.5):
        ask("with alcohol", hours_ago)
    ask("once", 0.1)
    ask("ancient", 24 * 90)  # outside retention: neither counted nor listed
    ask("dose timing", 24 * 90)

    report = store.unanswered_report(NOW, retention_days=30)
    assert report == [
        UnansweredCount("dose timing", 3, NOW - timedelta(hours=1)),
        UnansweredCount("with alcohol", 2, NOW - timedelta(hours=0.5)),
        UnansweredCount("vivid dreams", 2, NOW - timedelta(hours=2)),
        UnansweredCount("once", 1, NOW - timedelta(hours=0.1)),
    ]
    assert all(entry.last_asked.tzinfo == UTC for entry in report)
    assert store.unanswered_report(NOW, retention_days=30, limit=2) == report[:2]


# -- events --------------------------------------------------------------------------------


def test_events_are_appended_listed_by_kind_and_forgotten(store: Store) -> None:
    first = store.record_event(7, "safety-help", NOW, user_id=70, ref="overdose")
    second = store.record_event(7, "hold", NOW + timedelta(minutes=1), ref="step-2")
    store.record_event(8, "hold", NOW)
    assert second > first
    event = store.get_event(first)
    assert event is not None
    assert (event.chat_id, event.user_id, event.kind, event.ref) == (
        7,
        70,
        "safety-help",
        "overdose",
    )
    assert event.occurred_at == NOW
    assert [e.kind for e in store.events_for_chat(7)] == ["safety-help", "hold"]
    assert [e.id for e in store.events_for_chat(7, kinds={"hold"})] == [second]
    assert store.forget_chat(7) == 2
    assert store.events_for_chat(7) == [] and store.get_event(first) is None
    assert len(store.events_for_chat(8)) == 1


def test_event_kind_and_ref_are_bounded(store: Store) -> None:
    with pytest.raises(ValueError, match="kind"):
        store.record_event(7, "", NOW)
    with pytest.raises(ValueError, match="ref"):
        store.record_event(7, "hold", NOW, ref="x" * 65)
    with pytest.raises(ValueError, match="naive"):
        store.record_event(7, "hold", NOW.replace(tzinfo=None))
