"""Alembic, driven from code: no ``alembic.ini`` is needed at runtime.

The migration scripts live in ``store/migrations`` (shipped as package data). The connection
to migrate is handed to ``env.py`` through ``Config.attributes["connection"]``.

To write the next migration during development, with a database at the current head::

    from alembic import command
    from sqlalchemy import create_engine
    from store.migrate import alembic_config

    with create_engine(url).connect() as conn:
        command.revision(alembic_config(conn), message="...", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from .errors import MigrationError, StoreError

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Arbitrary, fixed 63-bit key for pg_advisory_lock: "ldn-bot store migrations".
MIGRATION_LOCK_KEY: Final = 0x1D4B_0757_0AE0_0001

# Alembic's ``context``/``op`` are process-global proxies: one upgrade per process at a time.
_PROCESS_LOCK: Final = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for ``store/migrations``, optionally bound to ``connection``."""
    config = Config()
    # ConfigParser interpolation: a literal "%" in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - there is always an initial migration
        raise MigrationError("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Migrate the database behind ``engine`` to :func:`head_revision`.

    Safe with several processes starting at once: on PostgreSQL the upgrade runs under a
    session-level ``pg_advisory_lock``; on SQLite its transaction starts with
    ``BEGIN IMMEDIATE`` (see :mod:`store.engine`), which takes the database write lock first.
    Within one process, upgrades are also serialised by a thread lock, because Alembic keeps
    its migration context in module globals. Both DDL dialects are transactional, so a failed
    upgrade leaves the database at its previous revision.
    """
    with _PROCESS_LOCK:
        _upgrade_to_head(engine)


def _upgrade_to_head(engine: Engine) -> None:
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot connect to the database: {exc}") from exc
    with conn:
        try:
            if conn.dialect.name == "postgresql":
                _upgrade_postgresql(conn)
            else:
                conn.execution_options(ldn_write=True)
                with conn.begin():
                    command.upgrade(alembic_config(conn), "head")
        except MigrationError:
            raise
        except (CommandError, SQLAlchemyError) as exc:
            raise MigrationError(f"migrating the database to head failed: {exc}") from exc


def _upgrade_postgresql(conn: Connection) -> None:
    with conn.begin():
        conn.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
    try:
        with conn.begin():
            command.upgrade(alembic_config(conn), "head")
    finally:
        if not conn.invalidated:
            with conn.begin():
                conn.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
