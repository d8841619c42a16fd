"""Tests of the storage layer, each run on SQLite (a tmp file) and on PostgreSQL.

PostgreSQL comes from ``LDN_TEST_PG_URL`` (default below). When it is unreachable the
PostgreSQL cases are skipped, except with ``LDN_REQUIRE_PG=1`` (CI), where they fail. Every
PostgreSQL test gets its own schema (``t_<uuid>``, first and only entry of ``search_path``,
so Alembic's version table lives there too), dropped with CASCADE afterwards.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, ForeignKey, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from store import (
    ChatRecord,
    MigrationError,
    Store,
    StoreError,
    UnansweredCount,
    UnansweredQuestionRow,
    UnknownChatError,
    head_revision,
)
from store.engine import create_store_engine
from store.migrate import MIGRATION_LOCK_KEY, alembic_config
from store.models import CHAT_LINKED_TABLES, Base

NOW = datetime(2025, 3, 14, 21, 30, tzinfo=UTC)
EXPECTED_TABLES = {
    "alembic_version",
    "audit_log",
    "chats",
    "clinic_refs",
    "consents",
    "pseudonyms",
    "staff_invites",
    "staff_members",
    "chat_preferences",
    "checkin_answers",
    "checkins",
    "events",
    "evenings",
    "inbox",
    "plan_drafts",
    "regimens",
    "reminder_followups",
    "unanswered_questions",
    # issue #10: staff, audit, consent, enrolment, broadcasts
    "enrolment_codes",
    "enrolment_pending",
    "broadcasts",
    "broadcast_outbox",
    # alerts (issue #11)
    "alerts",
    "alert_deliveries",
    "relays",
    "reload_requests",
}

T = TypeVar("T")


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
        UnansweredCount("what is ldn", 1, NOW.date())
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


def test_unanswered_retention_is_by_whole_utc_days(store: Store) -> None:
    # NOW is 2025-03-14 21:30 UTC; 30 days of retention keep 2025-02-12 onwards.
    asked: list[tuple[str, timedelta]] = [
        ("too old", timedelta(days=40)),
        ("the day before", timedelta(days=30, hours=22)),  # 2025-02-11 23:30
        ("the first day kept", timedelta(days=30, hours=21, minutes=30)),  # 2025-02-12 00:00
        ("recent", timedelta(days=1)),
    ]
    for question, age in asked:
        store.record_unanswered(question, "fallback", NOW - age)

    in_window = {entry.question for entry in store.unanswered_report(NOW, retention_days=30)}
    assert in_window == {"the first day kept", "recent"}

    assert store.purge_unanswered(NOW, retention_days=30) == 2
    assert store.purge_unanswered(NOW, retention_days=30) == 0
    everything = store.unanswered_report(NOW, retention_days=10_000)
    assert {entry.question for entry in everything} == in_window


def test_unanswered_report_ordering(store: Store) -> None:
    def ask(question: str, days_ago: float, status: Any = "fallback") -> None:
        store.record_unanswered(question, status, NOW - timedelta(days=days_ago))

    for days_ago in (1.0, 5.0, 9.0):
        ask("dose timing", days_ago)
    for days_ago in (2.0, 3.0):
        ask("vivid dreams", days_ago, "clarify")
    ask("with alcohol", 4)
    ask("with alcohol", 0.5, "clarify")  # another status, same question: counted together
    ask("once", 0.1)
    ask("ancient", 90)  # outside retention: neither counted nor listed
    ask("dose timing", 90)

    report = store.unanswered_report(NOW, retention_days=30)
    day = NOW.date()
    assert report == [
        UnansweredCount("dose timing", 3, day - timedelta(days=1)),
        UnansweredCount("with alcohol", 2, day),
        UnansweredCount("vivid dreams", 2, day - timedelta(days=2)),
        UnansweredCount("once", 1, day),
    ]
    assert all(type(entry.last_day) is date for entry in report)
    assert store.unanswered_report(NOW, retention_days=30, limit=2) == report[:2]


def test_unanswered_questions_keep_a_day_and_a_count_not_a_time(
    store: Store, raw_engine: Engine
) -> None:
    morning = datetime(2025, 3, 14, 0, 0, 1, tzinfo=UTC)
    for minutes in (0, 7, 600, 1430):
        store.record_unanswered("b question", "fallback", morning + timedelta(minutes=minutes))
    store.record_unanswered("a question", "fallback", morning + timedelta(hours=3))
    store.record_unanswered("b question", "fallback", morning + timedelta(days=1))
    store.record_unanswered("b question", "clarify", morning)
    # A time zone other than UTC still counts on the UTC day.
    store.record_unanswered(
        "a question", "fallback", datetime(2025, 3, 15, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    )

    with raw_engine.connect() as conn:
        columns = [c["name"] for c in inspect(conn).get_columns("unanswered_questions")]
        rows = conn.execute(
            text("SELECT question, day, status, count FROM unanswered_questions")
        ).all()
        if store.backend == "sqlite":
            # No rowid: rows sit in key order, not in the order they came.
            with pytest.raises(SQLAlchemyError):
                conn.execute(text("SELECT rowid FROM unanswered_questions"))
    assert sorted(columns) == ["count", "day", "question", "status"]
    assert sorted((q, str(d), s, n) for q, d, s, n in rows) == [
        ("a question", "2025-03-14", "fallback", 2),
        ("b question", "2025-03-14", "clarify", 1),
        ("b question", "2025-03-14", "fallback", 4),
        ("b question", "2025-03-15", "fallback", 1),
    ]


def test_unanswered_batches_and_concurrent_writers_lose_no_count(store: Store) -> None:
    def write(worker: int) -> None:
        for i in range(10):
            store.record_unanswered_many(
                [
                    UnansweredQuestionRow("shared", "fallback", NOW),
                    UnansweredQuestionRow("shared", "fallback", NOW),
                    UnansweredQuestionRow(f"own {worker}", "clarify", NOW + timedelta(seconds=i)),
                ]
            )

    run_in_threads(8, write)
    report = {r.question: r.count for r in store.unanswered_report(NOW, 1, limit=100)}
    assert report == {"shared": 160, **{f"own {w}": 10 for w in range(8)}}
    store.record_unanswered_many([])  # nothing to do is not an error


def test_unanswered_questions_are_bounded_in_length(store: Store) -> None:
    store.record_unanswered("x" * 5000, "fallback", NOW)
    (entry,) = store.unanswered_report(NOW, 1)
    assert entry.question == "x" * 1000


def test_migration_0004_groups_scrubs_and_forgets_the_old_rows(
    db_url: str, raw_engine: Engine
) -> None:
    with raw_engine.connect() as conn:
        conn.execution_options(ldn_write=True)
        with conn.begin():
            command.upgrade(alembic_config(conn), "0002")
        with conn.begin():
            old = [
                ("what is the capital of mongolia", "fallback", "2025-03-14 09:00:00.000001"),
                ("what is the capital of mongolia", "fallback", "2025-03-14 23:59:59.999999"),
                ("what is the capital of mongolia", "clarify", "2025-03-14 10:00:00"),
                ("what is the capital of mongolia", "fallback", "2025-03-13 10:00:00"),
                (
                    "my name is jane smith my nhs number is 485 777 3456",
                    "fallback",
                    "2025-03-14 10:00:00",
                ),
                (
                    "email jane at example dot com call # born 03 04 61",
                    "clarify",
                    "2025-03-14 11:00:00",
                ),
            ]
            for question, status, asked_at in old:
                conn.execute(
                    text(
                        "INSERT INTO unanswered_questions (question_normalized, status, asked_at)"
                        " VALUES (:q, :s, :t)"
                        if raw_engine.dialect.name == "sqlite"
                        else "INSERT INTO unanswered_questions"
                        " (question_normalized, status, asked_at)"
                        " VALUES (:q, :s, CAST(:t AS TIMESTAMP) AT TIME ZONE 'UTC')"
                    ),
                    {"q": question, "s": status, "t": asked_at},
                )
    with Store.open(db_url) as store:
        assert store.schema_revision() == head_revision()
        report = store.unanswered_report(datetime(2025, 3, 14, 12, tzinfo=UTC), 30)
    assert report == [
        UnansweredCount("what is the capital of mongolia", 4, date(2025, 3, 14)),
        UnansweredCount("email [email] call [number] born [number]", 1, date(2025, 3, 14)),
        UnansweredCount("my name is [name] my nhs number is [number]", 1, date(2025, 3, 14)),
    ]
    with raw_engine.connect() as conn:
        per_day = conn.execute(
            text(
                "SELECT day, status, count FROM unanswered_questions"
                " WHERE question = 'what is the capital of mongolia'"
            )
        ).all()
    assert sorted((str(d), s, n) for d, s, n in per_day) == [
        ("2025-03-13", "fallback", 1),
        ("2025-03-14", "clarify", 1),
        ("2025-03-14", "fallback", 2),
    ]


def test_migration_0004_downgrades_to_one_row_per_count(db_url: str, raw_engine: Engine) -> None:
    with Store.open(db_url) as store:
        store.record_unanswered("dose timing", "fallback", NOW)
        store.record_unanswered("dose timing", "fallback", NOW)
    with raw_engine.connect() as conn:
        conn.execution_options(ldn_write=True)
        with conn.begin():
            command.downgrade(alembic_config(conn), "0002")
        with conn.begin():
            rows = conn.execute(
                text("SELECT question_normalized, status FROM unanswered_questions")
            ).all()
    assert [tuple(r) for r in rows] == [("dose timing", "fallback")] * 2


# -- privacy on disk -----------------------------------------------------------------------


def test_sqlite_forget_leaves_no_trace_in_the_database_or_wal_files(tmp_path: Path) -> None:
    path = tmp_path / "forget.sqlite3"
    secrets = {1: "zebra-striped-secret-one", 2: "okapi-spotted-secret-two"}
    with Store.open(f"sqlite:///{path}") as store:
        for chat_id, secret in secrets.items():
            store.record_chat(chat_id, "private", NOW)
            store.set_preference(chat_id, "note", secret, NOW)
        # Chat 1's row is moved into the database file; chat 2's still sits in the WAL.
        engine = create_store_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        store.set_preference(2, "note", secrets[2], NOW + timedelta(seconds=1))

        def on_disk() -> bytes:
            files = [path, path.with_name(path.name + "-wal")]
            return b"".join(f.read_bytes() for f in files if f.exists())

        assert all(s.encode() in on_disk() for s in secrets.values())  # the test can fail
        store.record_chat(3, "private", NOW)
        store.set_preference(3, "note", "kept-for-chat-three", NOW)
        store.forget_chat(1)
        store.forget_chat(2)
        left = on_disk()
        assert not any(s.encode() in left for s in secrets.values())
        assert b"kept-for-chat-three" in left
        assert store.get_preferences(3) == {"note": "kept-for-chat-three"}


def test_sqlite_connections_delete_securely(tmp_path: Path) -> None:
    # Debian's SQLite is built with secure_delete on by default; others (python.org's macOS
    # build, for one) are not, and there the store must still turn it on.
    url = f"sqlite:///{tmp_path / 'secure.sqlite3'}"
    Store.open(url).close()
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    finally:
        engine.dispose()


# -- events --------------------------------------------------------------------------------


def test_an_event_of_a_kind_and_ref_in_a_window(store: Store) -> None:
    store.record_event(7, "safety-answer", NOW, ref="overdose")
    store.record_event(7, "hold", NOW)
    hour = timedelta(hours=1)
    assert store.has_event_between(7, "safety-answer", "overdose", NOW, NOW)
    assert store.has_event_between(7, "safety-answer", "overdose", NOW - hour, NOW + hour)
    assert not store.has_event_between(7, "safety-answer", "overdose", NOW + hour, NOW + 2 * hour)
    assert not store.has_event_between(7, "safety-answer", "overdose", NOW - 2 * hour, NOW - hour)
    assert not store.has_event_between(7, "safety-answer", "self-harm", NOW - hour, NOW + hour)
    assert not store.has_event_between(8, "safety-answer", "overdose", NOW - hour, NOW + hour)
    # No ref: only events without one.
    assert store.has_event_between(7, "hold", None, NOW - hour, NOW + hour)
    assert not store.has_event_between(7, "safety-answer", None, NOW - hour, NOW + hour)


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
