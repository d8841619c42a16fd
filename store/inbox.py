"""The durable inbox: every update Telegram gives us, stored before Telegram is told we have it.

An update is a row keyed by ``update_id`` (so a re-delivered update is stored once), handled
from here in order within its chat, and marked done. Handling is claimed with a lease
(``lease_owner``, ``lease_until``) so several processes on one PostgreSQL database can share
the work: only the oldest pending row of a chat (its head) can be claimed, so two updates of
one chat are never handled at once or out of order. A process that dies leaves its leases to
expire; another (or itself, restarted) takes the rows again.

The update's JSON (the patient's words) is kept only until the row is done or has failed;
then only ``update_id``, the chat and the times remain, and /forget deletes those too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Connection, Engine, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from .base import StoreBase, _aware
from .models import InboxUpdate

# Arbitrary, fixed 63-bit keys for pg_try_advisory_lock: "the process that calls getUpdates",
# "the process that sends bulk messages" (so that Telegram's limit is shared).
POLLER_LOCK_KEY: Final = 0x1D4B_0757_0AE0_0002
BULK_LOCK_KEY: Final = 0x1D4B_0757_0AE0_0003

PENDING: Final = "pending"
DONE: Final = "done"
FAILED: Final = "failed"


@dataclass(frozen=True, slots=True)
class IncomingUpdate:
    update_id: int
    chat_id: int | None
    payload: str  # the update as JSON


@dataclass(frozen=True, slots=True)
class ClaimedUpdate:
    update_id: int
    chat_id: int | None
    payload: str
    attempts: int  # failed attempts before this one


@dataclass(frozen=True, slots=True)
class InboxCounts:
    pending: int
    done: int
    failed: int


class ProcessLock:
    """Which one process does a job: call getUpdates (Telegram allows one caller per bot),
    or send bulk messages (so that the processes share Telegram's limit).

    On PostgreSQL a session advisory lock, held on a connection of its own for as long as
    the process does the job: when the process dies, the connection closes and the lock is
    free for another. SQLite serves one process, which always holds it."""

    def __init__(self, engine: Engine, key: int = POLLER_LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None

    @property
    def _shared(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it."""
        if not self._shared:
            return True
        if self._conn is not None:
            return self.still_held()
        try:
            conn = self._engine.connect()
        except SQLAlchemyError:
            return False
        try:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}))
            conn.commit()
        except SQLAlchemyError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """False once the lock's connection is gone (the database restarted)."""
        if not self._shared:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except SQLAlchemyError:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._conn.commit()
        except SQLAlchemyError:
            pass
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()


class InboxQueries(StoreBase):
    def poller_lock(self) -> ProcessLock:
        """A handle on the getUpdates lock (see :class:`ProcessLock`); not yet acquired."""
        return ProcessLock(self._engine, POLLER_LOCK_KEY)

    def bulk_lock(self) -> ProcessLock:
        """A handle on the bulk-sending lock; not yet acquired."""
        return ProcessLock(self._engine, BULK_LOCK_KEY)

    def store_updates(self, updates: Sequence[IncomingUpdate], now: datetime) -> int:
        """Store a batch of updates in one commit; returns how many were new (an update_id
        already stored, e.g. re-delivered after a crash, is ignored)."""
        _aware(now)
        if not updates:
            return 0
        rows = [
            {
                "update_id": u.update_id,
                "chat_id": u.chat_id,
                "payload": u.payload,
                "state": PENDING,
                "attempts": 0,
                "received_at": now,
                "next_attempt_at": now,
            }
            for u in updates
        ]
        dialect = self._engine.dialect.name
        stmt = (
            postgresql.insert(InboxUpdate)
            if dialect == "postgresql"
            else sqlite.insert(InboxUpdate)
        ).on_conflict_do_nothing(index_elements=[InboxUpdate.update_id])
        with self._write() as conn:
            result = conn.execute(stmt.returning(InboxUpdate.update_id), rows)
            return len(result.all())

    def last_update_id(self) -> int | None:
        """The highest update_id ever stored (the next getUpdates offset is one more)."""
        with self._read() as conn:
            return conn.scalar(select(func.max(InboxUpdate.update_id)))

    def claim_updates(
        self, owner: str, now: datetime, limit: int, lease: timedelta
    ) -> list[ClaimedUpdate]:
        """Lease up to ``limit`` pending updates to ``owner``: each the oldest pending one of
        its chat, due (``next_attempt_at <= now``) and not leased by anyone else. Oldest
        first."""
        _aware(now)
        if limit < 1:
            return []
        earlier = aliased(InboxUpdate)
        free = or_(InboxUpdate.lease_until.is_(None), InboxUpdate.lease_until < now)
        head = ~exists().where(
            and_(
                earlier.state == PENDING,
                earlier.chat_id == InboxUpdate.chat_id,
                earlier.update_id < InboxUpdate.update_id,
            )
        )
        candidates = (
            select(InboxUpdate.update_id)
            .where(InboxUpdate.state == PENDING, InboxUpdate.next_attempt_at <= now, free, head)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        with self._write() as conn:
            ids = list(conn.scalars(candidates))
            if not ids:
                return []
            # Re-checked under the row lock: of two processes that chose the same rows, one
            # takes each.
            claimed = conn.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id.in_(ids), InboxUpdate.state == PENDING, free)
                .values(lease_owner=owner, lease_until=now + lease)
                .returning(
                    InboxUpdate.update_id,
                    InboxUpdate.chat_id,
                    InboxUpdate.payload,
                    InboxUpdate.attempts,
                )
            ).all()
        rows = [
            ClaimedUpdate(r.update_id, r.chat_id, r.payload or "{}", r.attempts) for r in claimed
        ]
        return sorted(rows, key=lambda r: r.update_id)

    def renew_leases(
        self, owner: str, update_ids: Sequence[int], now: datetime, lease: timedelta
    ) -> None:
        """Extend the owner's leases on updates still being handled."""
        if not update_ids:
            return
        with self._write() as conn:
            conn.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.update_id.in_(list(update_ids)),
                    InboxUpdate.lease_owner == owner,
                    InboxUpdate.state == PENDING,
                )
                .values(lease_until=_aware(now) + lease)
            )

    def release_leases(self, owner: str) -> None:
        """Give back the owner's claims on updates it has not handled (a clean stop)."""
        with self._write() as conn:
            conn.execute(
                update(InboxUpdate)
                .where(InboxUpdate.state == PENDING, InboxUpdate.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def release_all_leases(self) -> None:
        """Forget every lease: for a process that knows it is the only one (SQLite)."""
        with self._write() as conn:
            conn.execute(
                update(InboxUpdate)
                .where(InboxUpdate.state == PENDING, InboxUpdate.lease_owner.is_not(None))
                .values(lease_owner=None, lease_until=None)
            )

    def finish_updates(
        self,
        owner: str,
        done: Sequence[int],
        retry: Sequence[tuple[int, datetime]],
        failed: Sequence[int],
        now: datetime,
    ) -> None:
        """Record handling results in one commit: ``done`` and ``failed`` rows drop their
        payload; ``retry`` rows count one more attempt and wait until the given time."""
        _aware(now)
        with self._write() as conn:
            self._close_rows(conn, owner, done, DONE, now)
            self._close_rows(conn, owner, failed, FAILED, now)
            for update_id, at in retry:
                conn.execute(
                    update(InboxUpdate)
                    .where(
                        InboxUpdate.update_id == update_id,
                        InboxUpdate.lease_owner == owner,
                        InboxUpdate.state == PENDING,
                    )
                    .values(
                        attempts=InboxUpdate.attempts + 1,
                        next_attempt_at=_aware(at),
                        lease_owner=None,
                        lease_until=None,
                    )
                )

    @staticmethod
    def _close_rows(
        conn: Connection, owner: str, ids: Sequence[int], state: str, now: datetime
    ) -> None:
        if not ids:
            return
        conn.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id.in_(list(ids)),
                InboxUpdate.lease_owner == owner,
                InboxUpdate.state == PENDING,
            )
            .values(state=state, payload=None, handled_at=now, lease_owner=None, lease_until=None)
        )

    def inbox_counts(self) -> InboxCounts:
        with self._read() as conn:
            rows = dict(
                conn.execute(
                    select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state)
                ).all()
            )
        return InboxCounts(rows.get(PENDING, 0), rows.get(DONE, 0), rows.get(FAILED, 0))

    def purge_inbox(self, before: datetime) -> int:
        """Delete handled rows older than ``before`` (re-delivery is only a risk for minutes)."""
        with self._write() as conn:
            result = conn.execute(
                delete(InboxUpdate).where(
                    InboxUpdate.state != PENDING, InboxUpdate.handled_at < _aware(before)
                )
            )
            return result.rowcount
