"""The broadcast outbox: one row per recipient, and exactly once as for the reminders
(:mod:`store.reminders`):

* launching a broadcast writes one outbox row per recipient, unique on (broadcast, chat), in
  the same transaction that moves the broadcast to ``sending`` (``UPDATE ... WHERE state =
  'draft'|'scheduled'``), so two processes cannot both launch it;
* a row is claimed ``pending`` -> ``sending`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  serialises writers), committed before the send, and its result recorded afterwards;
* just before its request is made a row is marked attempted; a row found ``sending`` after a
  crash becomes ``unknown`` (never sent again) if it was attempted, and ``pending`` again if
  it was only claimed, so a crash costs only the sends actually under way;
* a send that failed for a reason worth retrying goes back to ``pending`` later, a few times,
  then ``failed``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, update

from .base import StoreBase, _aware
from .broadcasts import Audience, select_audience
from .models import Broadcast, EveningRow, OutboxRow, RegimenRow

RETRIES = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))
CLAIM_LIMIT = 100
INSERT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    broadcast_id: int
    chat_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxResult:
    """What became of one claimed row: sent, unknown, blocked, not_sent; ``retry`` when a
    not_sent may be tried again later."""

    id: int
    delivery: str
    message_id: int | None = None
    retry: bool = False


class OutboxQueries(StoreBase):
    def launch_broadcast(
        self, broadcast_id: int, now: datetime, exclude: Collection[int] = ()
    ) -> int | None:
        """Move a draft (or a scheduled broadcast that is due) to ``sending`` and write its
        outbox, one row per recipient, in one transaction. Returns the number of recipients,
        or None when it was not there to launch (another process did, or it was cancelled)."""
        _aware(now)
        with self._write() as conn:
            row = conn.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == broadcast_id,
                    (Broadcast.state == "draft")
                    | ((Broadcast.state == "scheduled") & (Broadcast.scheduled_for <= now)),
                )
                .values(state="sending", stage=None, started_at=now)
                .returning(Broadcast.audience, Broadcast.plan_name, Broadcast.urgent)
            ).one_or_none()
            if row is None or row.audience is None:
                if row is not None:
                    raise ValueError("a broadcast without an audience cannot be launched")
                return None
            audience = Audience(row.audience, row.plan_name, bool(row.urgent))
            recipients = select_audience(conn, audience, now, exclude)
            values = [
                {
                    "broadcast_id": broadcast_id,
                    "chat_id": chat_id,
                    "delivery": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for chat_id in recipients
            ]
            for start in range(0, len(values), INSERT_BATCH):
                conn.execute(insert(OutboxRow), values[start : start + INSERT_BATCH])
            conn.execute(
                update(Broadcast).where(Broadcast.id == broadcast_id).values(total=len(values))
            )
        return len(values)

    def due_broadcasts(self, now: datetime) -> list[int]:
        """Scheduled broadcasts whose time has come."""
        with self._read() as conn:
            return list(
                conn.scalars(
                    select(Broadcast.id)
                    .where(Broadcast.state == "scheduled", Broadcast.scheduled_for <= _aware(now))
                    .order_by(Broadcast.scheduled_for, Broadcast.id)
                )
            )

    def claim_outbox(self, now: datetime, *, limit: int = CLAIM_LIMIT) -> list[OutboxItem]:
        """Claim pending rows whose time has come (``sending``, committed before any send)."""
        _aware(now)
        # Only a broadcast still ``sending``: a row that went back to pending (a retry, or a
        # claim undone after a crash) after its broadcast was cancelled is never sent.
        sending = select(Broadcast.id).where(Broadcast.state == "sending")
        ready = (
            OutboxRow.delivery == "pending",
            OutboxRow.next_attempt_at <= now,
            OutboxRow.broadcast_id.in_(sending),
        )
        with self._read() as conn:
            if conn.execute(select(OutboxRow.id).where(*ready).limit(1)).first() is None:
                return []
        with self._write() as conn:
            chosen = (
                select(OutboxRow.id)
                .where(*ready)
                .order_by(OutboxRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = conn.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(chosen), OutboxRow.delivery == "pending")
                .values(delivery="sending", claimed_at=now, attempted_at=None)
                .returning(
                    OutboxRow.id, OutboxRow.broadcast_id, OutboxRow.chat_id, OutboxRow.attempts
                )
            ).all()
        return sorted((OutboxItem(*r) for r in rows), key=lambda item: item.id)

    def record_outbox(self, results: Sequence[OutboxResult], now: datetime) -> int:
        """Record claimed rows' results in one transaction; a retryable failure goes back to
        ``pending`` after a delay (RETRIES), then becomes ``failed``."""
        _aware(now)
        final: list[dict[str, Any]] = []
        again: list[dict[str, Any]] = []
        with self._write() as conn:
            attempts = dict(
                conn.execute(
                    select(OutboxRow.id, OutboxRow.attempts).where(
                        OutboxRow.id.in_([r.id for r in results])
                    )
                ).all()
            )
            for result in results:
                tried = attempts.get(result.id, 0) + 1
                if result.delivery == "not_sent" and result.retry and tried <= len(RETRIES):
                    again.append(
                        {"b_id": result.id, "b_tries": tried, "b_at": now + RETRIES[tried - 1]}
                    )
                    continue
                delivery = "failed" if result.delivery == "not_sent" else result.delivery
                final.append(
                    {
                        "b_id": result.id,
                        "b_delivery": delivery,
                        "b_tries": tried,
                        "b_sent": now if delivery == "sent" else None,
                        "b_message": result.message_id,
                    }
                )
            if final:
                conn.execute(_RECORD_FINAL, final)
            if again:
                conn.execute(_RECORD_AGAIN, again)
        return len(final) + len(again)

    def mark_outbox_attempted(self, row_id: int, now: datetime) -> None:
        """The row's request is about to be made: from now on a crash leaves it ``unknown``."""
        with self._write() as conn:
            conn.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.delivery == "sending")
                .values(attempted_at=_aware(now))
            )

    def recover_outbox(self, before: datetime) -> int:
        """Rows claimed before ``before`` and still ``sending`` (their process died): those
        whose request was attempted become ``unknown`` (they may have arrived, so they are
        never sent again); those never attempted go back to ``pending``. Returns how many
        became unknown."""
        stuck = (OutboxRow.delivery == "sending", OutboxRow.claimed_at < _aware(before))
        with self._read() as conn:
            if conn.execute(select(OutboxRow.id).where(*stuck).limit(1)).first() is None:
                return 0
        with self._write() as conn:
            conn.execute(
                update(OutboxRow)
                .where(*stuck, OutboxRow.attempted_at.is_(None))
                .values(delivery="pending", claimed_at=None)
            )
            return int(
                conn.execute(
                    update(OutboxRow).where(*stuck).values(delivery="unknown", note="interrupted")
                ).rowcount
            )

    def finish_broadcasts(self, now: datetime) -> list[int]:
        """Broadcasts in ``sending`` with nothing left to send become ``done``; their ids."""
        open_rows = exists().where(
            OutboxRow.broadcast_id == Broadcast.id,
            OutboxRow.delivery.in_(("pending", "sending")),
        )
        # Rows of a cancelled broadcast that came back to pending after the cancel (a retry,
        # or a claim undone after a crash) are not sent (claim_outbox), and counted as such.
        cancelled = (
            OutboxRow.delivery == "pending",
            OutboxRow.broadcast_id.in_(select(Broadcast.id).where(Broadcast.state == "cancelled")),
        )
        with self._read() as conn:
            left = conn.execute(select(OutboxRow.id).where(*cancelled).limit(1)).first()
            sending = conn.scalar(select(func.count()).where(Broadcast.state == "sending"))
        if left is not None:
            with self._write() as conn:
                conn.execute(
                    update(OutboxRow)
                    .where(*cancelled)
                    .values(delivery="not_sent", note="cancelled")
                )
        if sending == 0:
            return []
        with self._write() as conn:
            return sorted(
                conn.scalars(
                    update(Broadcast)
                    .where(Broadcast.state == "sending", ~open_rows)
                    .values(state="done", finished_at=_aware(now))
                    .returning(Broadcast.id)
                )
            )

    def claim_report(self, broadcast_id: int) -> bool:
        """Whether this caller sends the final report (once, whichever process asks first)."""
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(Broadcast)
                    .where(
                        Broadcast.id == broadcast_id,
                        Broadcast.state.in_(("done", "cancelled")),
                        Broadcast.reported.is_(False),
                    )
                    .values(reported=True)
                ).rowcount
            )

    def unreported_broadcasts(self) -> list[int]:
        with self._read() as conn:
            return list(
                conn.scalars(
                    select(Broadcast.id).where(
                        Broadcast.state.in_(("done", "cancelled")),
                        Broadcast.started_at.is_not(None),
                        Broadcast.reported.is_(False),
                    )
                )
            )

    def set_progress_message(self, broadcast_id: int, message_id: int) -> None:
        with self._write() as conn:
            conn.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(progress_message_id=message_id)
            )

    def outbox_counts(self, broadcast_id: int) -> dict[str, int]:
        """Rows per delivery value (``not_sent`` rows of a cancelled broadcast included)."""
        with self._read() as conn:
            return {
                delivery: int(count)
                for delivery, count in conn.execute(
                    select(OutboxRow.delivery, func.count())
                    .where(OutboxRow.broadcast_id == broadcast_id)
                    .group_by(OutboxRow.delivery)
                )
            }

    def reminders_waiting(self, now: datetime) -> bool:
        """Whether nightly reminders are due and not yet claimed: broadcasts wait for them.
        (Rows already ``sending`` are not counted: one left by a crash must not hold
        broadcasts up until its lease runs out.)"""
        _aware(now)
        with self._read() as conn:
            due = conn.execute(
                select(RegimenRow.chat_id).where(RegimenRow.next_due_at <= now).limit(1)
            ).first()
            if due is not None:
                return True
            pending = conn.execute(
                select(EveningRow.id)
                .where(EveningRow.delivery == "pending", EveningRow.due_at <= now)
                .limit(1)
            ).first()
            return pending is not None


_RECORD_FINAL = (
    update(OutboxRow)
    .where(
        OutboxRow.id == bindparam("b_id"),
        (OutboxRow.delivery == "sending") | (OutboxRow.delivery == "unknown"),
    )
    .values(
        delivery=bindparam("b_delivery"),
        attempts=bindparam("b_tries"),
        sent_at=bindparam("b_sent"),
        message_id=bindparam("b_message"),
        note=None,
    )
)
_RECORD_AGAIN = (
    update(OutboxRow)
    .where(OutboxRow.id == bindparam("b_id"), OutboxRow.delivery == "sending")
    .values(
        delivery="pending",
        attempts=bindparam("b_tries"),
        next_attempt_at=bindparam("b_at"),
        attempted_at=None,
    )
)
