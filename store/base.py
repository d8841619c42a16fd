"""The store's foundation: lifecycle, transactions and the portable upsert.

Domain modules (:mod:`store.core` for chats, :mod:`store.events`, ...) subclass
:class:`StoreBase`; :class:`store.Store` combines them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement, Executable
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from . import migrate
from .engine import WRITE_OPTION, checkpoint_sqlite, create_store_engine
from .errors import StoreError
from .models import Base

log = logging.getLogger(__name__)

Excluded = ReadOnlyColumnCollection[str, ColumnElement[Any]]
"""The ``excluded`` pseudo-table of an upsert (the row that failed to insert)."""


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now={now!r} is naive: pass a timezone-aware datetime")
    return now


class StoreBase:
    """Connection handling shared by every domain's queries (see :class:`store.Store`)."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine from :func:`store.engine.create_store_engine`; prefer :meth:`open`."""
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str) -> Self:
        """Connect to ``url`` (SQLite file or PostgreSQL) and migrate the schema to head.

        Raises :class:`~store.StoreError` if the URL is unusable or the database unreachable,
        :class:`~store.MigrationError` if the migration fails.
        """
        engine = create_store_engine(url)
        try:
            migrate.upgrade_to_head(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection. Idempotent; the store is unusable afterwards."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _checkpoint(self) -> None:
        """After deleting what must not linger: on SQLite, empty the WAL file into the
        database (see :func:`store.engine.checkpoint_sqlite`)."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            if not checkpoint_sqlite(self._engine):
                log.warning("WAL checkpoint after a delete was busy; it completes later")
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (equals :func:`store.head_revision`)."""
        with self._read() as conn:
            return migrate.current_revision(conn)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._transaction(self._engine) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._transaction(self._write_engine) as conn:
            yield conn

    @contextmanager
    def _transaction(self, engine: Engine) -> Iterator[Connection]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            with engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {exc}") from exc

    def _record_send(
        self, model: Any, row_id: int, delivery: str, now: datetime, message_id: int | None
    ) -> bool:
        """Record what became of one claimed bulk send (a follow-up, a check-in): False if the
        row was not being sent."""
        _aware(now)
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(model)
                    .where(model.id == row_id, model.delivery.in_(("sending", "unknown")))
                    .values(
                        delivery=delivery,
                        sent_at=now if delivery == "sent" else None,
                        message_id=message_id,
                        note=None,
                    )
                ).rowcount
            )

    def _upsert(
        self,
        model: type[Base],
        values: Mapping[str, Any],
        conflict_columns: Sequence[InstrumentedAttribute[Any]],
        updates: Callable[[Excluded], Mapping[InstrumentedAttribute[Any], Any]],
    ) -> Executable:
        """``INSERT ... ON CONFLICT (conflict_columns) DO UPDATE``: one atomic statement."""
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            pg_insert = postgresql.insert(model).values(values)
            return pg_insert.on_conflict_do_update(
                index_elements=conflict_columns, set_=updates(pg_insert.excluded)
            )
        if dialect == "sqlite":
            lite_insert = sqlite.insert(model).values(values)
            return lite_insert.on_conflict_do_update(
                index_elements=conflict_columns, set_=updates(lite_insert.excluded)
            )
        raise StoreError(f"no upsert support for {dialect!r}")  # pragma: no cover
