"""Engine construction for the two supported backends.

SQLite (file URLs such as ``sqlite:///ldn-bot.sqlite3``):

* ``PRAGMA foreign_keys=ON``, ``busy_timeout`` and ``secure_delete=ON`` (deleted content is
  zeroed, not left in free pages) on every pooled connection, and the database is switched
  to WAL so readers never block the writer (:func:`checkpoint_sqlite` empties the WAL file
  after /forget);
* ``check_same_thread=False`` with a :class:`~sqlalchemy.pool.QueuePool`: a connection is
  used by one thread at a time, so the store may be called from ``asyncio.to_thread``;
* SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN``: reads get a real (snapshot)
  transaction and a connection whose execution options carry ``ldn_write=True`` begins with
  ``BEGIN IMMEDIATE``, taking the write lock up front so that concurrent writers wait on
  ``busy_timeout`` instead of failing with "database is locked" when upgrading a read lock.

PostgreSQL (``postgresql+psycopg://...``; plain ``postgresql://`` and ``postgres://`` are
mapped to psycopg 3). Connection parameters such as ``options=-csearch_path=...`` may be
given in the URL query.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from .errors import StoreError

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
WRITE_OPTION: Final = "ldn_write"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pin the driver: psycopg 3 for PostgreSQL, pysqlite for SQLite."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif driver != "psycopg":
            raise StoreError(f"unsupported PostgreSQL driver {driver!r}: use postgresql+psycopg")
    elif backend == "sqlite":
        if parsed.drivername != "sqlite" and driver != "pysqlite":
            raise StoreError(f"unsupported SQLite driver {driver!r}: use sqlite:///FILE")
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("an in-memory SQLite database is not supported: give a file URL")
    else:
        raise StoreError(f"unsupported database backend {backend!r}: use SQLite or PostgreSQL")
    return parsed


def create_store_engine(url: str | URL) -> Engine:
    """A configured :class:`~sqlalchemy.Engine` for ``url`` (see the module docstring)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            # Errors must not quote parameters: they can hold patients' words.
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Hand transaction control to SQLAlchemy (the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL keeps every commit through a crash or kill -9 of the bot (only
            # a power cut or an OS crash can take the last commits back), and spares an fsync
            # per commit: the inbox commits once per batch of updates and of results.
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten with zeros, not left in free space (see forget).
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def checkpoint_sqlite(engine: Engine) -> bool:
    """Copy the WAL into the database file and truncate the WAL to zero bytes, so that rows
    just deleted (and zeroed by ``secure_delete``) leave no copy in the ``-wal`` file.

    Returns whether the checkpoint completed; it cannot while another connection is reading
    an older snapshot (the frames then go at the next checkpoint). No-op (True) elsewhere."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        # The DBAPI connection is in autocommit mode (see _configure_sqlite); a checkpoint
        # cannot run inside a transaction, so SQLAlchemy's "begin" is bypassed.
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        busy, _log, _done = dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy
