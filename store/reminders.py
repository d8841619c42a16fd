"""Reminders: regimens, the /plan draft, evenings, snoozes and nudges, and their claims.

Exactly once comes from here, not from the scheduler:

* an evening is a row unique on (chat, local evening), created by ``INSERT ... ON CONFLICT DO
  NOTHING`` from the regimens whose ``next_due_at`` has come (read ``FOR UPDATE SKIP LOCKED``
  on PostgreSQL; SQLite's write transaction serialises writers);
* a reminder (or follow-up) is claimed with ``UPDATE ... SET delivery='sending' WHERE
  delivery='pending' RETURNING``, committed before the send, so two processes never both get
  it; the send's result is recorded afterwards;
* a row still ``sending`` after a crash becomes ``unknown`` (:meth:`recover_sending`), never
  pending again: the Bot API has no idempotency key, so it may have arrived.

Delivery (pending, sending, sent, unknown, not_sent, blocked) is kept apart from outcome
(none, taken, skipped, missed); only a sent reminder left unanswered becomes missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reminders import Action, due

from .alerts import record_missed_runs
from .base import StoreBase, _aware
from .models import Chat, EveningRow, FollowupRow, RegimenRow
from .records import (
    _EVENING_COLUMNS,
    BATCH,
    Delivery,
    EveningRecord,
    _evening,
    _evening_values,
    _stored,
)

_MOVE_ON = (
    update(RegimenRow)
    .where(RegimenRow.chat_id == bindparam("b_chat"))
    .values(next_evening=bindparam("b_evening"), next_due_at=bindparam("b_due"))
)


# Built once: one statement per recorded send, compiled once (not per row).
_RECORD = (
    update(EveningRow)
    .where(
        EveningRow.id == bindparam("b_id"),
        EveningRow.delivery.in_(("sending", "unknown")),
    )
    .values(
        delivery=bindparam("b_delivery"),
        sent_at=bindparam("b_sent"),
        message_id=bindparam("b_message"),
        note=None,
    )
    .returning(EveningRow.chat_id, EveningRow.ends_at, EveningRow.outcome)
)


@dataclass(frozen=True, slots=True)
class SendRecord:
    """What became of one claimed send: its evening (or follow-up) id, delivery, message."""

    id: int
    delivery: Delivery
    message_id: int | None = None


class ReminderQueries(StoreBase):
    def _exists(self, stmt: Any) -> bool:
        with self._read() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    # -- what is due -----------------------------------------------------------------------

    def materialise_due(self, now: datetime, grace: timedelta, *, batch: int = BATCH) -> int:
        """Create the evening rows whose reminder time has come by `now` (pending, or not_sent
        when late or paused) and move each regimen on to its next evening. Returns the number
        of rows created. Reads only regimens due now, through the ``next_due_at`` index."""
        _aware(now)
        if not self._exists(select(RegimenRow.chat_id).where(RegimenRow.next_due_at <= now)):
            return 0  # the usual tick: a read through the index, no write lock
        created = 0
        while True:
            done, count = self._materialise_batch(now, grace, batch)
            created += count
            if done < batch:
                return created

    def _materialise_batch(self, now: datetime, grace: timedelta, batch: int) -> tuple[int, int]:
        with self._write() as conn:
            rows = conn.execute(
                select(RegimenRow)
                .where(RegimenRow.next_due_at <= now)
                .order_by(RegimenRow.next_due_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            values: list[dict[str, Any]] = []
            moves: list[dict[str, Any]] = []
            # A chat that blocked the bot (403, or "chat not found") gets no reminder until it
            # writes again: its evenings are recorded as not sent, never tried.
            unreachable = (
                set(
                    conn.scalars(
                        select(Chat.chat_id).where(
                            Chat.chat_id.in_([row.chat_id for row in rows]),
                            Chat.unreachable_since.is_not(None),
                        )
                    )
                )
                if rows
                else set()
            )
            for row in rows:
                stored = _stored(row)
                found, following = due(
                    stored.regimen, stored.next_evening, now, grace=grace, pause=stored.pause
                )
                for item in found:
                    value = _evening_values(row.chat_id, item.tonight, item.due_at, item.ends_at)
                    if item.action is Action.SEND and row.chat_id in unreachable:
                        value.update(delivery="not_sent", note="unreachable")
                    elif item.action is Action.SEND:
                        value.update(delivery="pending", note=None)
                    else:
                        value.update(delivery="not_sent", note=item.action.value)
                    values.append(value)
                moves.append(
                    {
                        "b_chat": row.chat_id,
                        "b_evening": following,
                        "b_due": stored.regimen.due_at(following),
                    }
                )
            if moves:
                conn.execute(_MOVE_ON, moves)
            count = self._insert_evenings(conn, values) if values else 0
            return len(rows), count

    def _insert_evenings(self, conn: Connection, values: Sequence[dict[str, Any]]) -> int:
        if conn.dialect.name == "postgresql":
            stmt: Any = postgresql.insert(EveningRow).on_conflict_do_nothing(
                index_elements=[EveningRow.chat_id, EveningRow.evening]
            )
        else:
            stmt = sqlite.insert(EveningRow).on_conflict_do_nothing(
                index_elements=[EveningRow.chat_id, EveningRow.evening]
            )
        # One statement, many parameter sets: SQLAlchemy batches them ("insertmanyvalues").
        return len(conn.execute(stmt.returning(EveningRow.id), list(values)).all())

    def claim_reminders(
        self, now: datetime, grace: timedelta, *, limit: int = BATCH
    ) -> list[EveningRecord]:
        """Claim pending reminders due by `now` (delivery becomes ``sending``, committed before
        any send); those more than `grace` late are recorded ``not_sent`` instead."""
        _aware(now)
        if not self._exists(select(EveningRow.id).where(EveningRow.delivery == "pending")):
            return []
        with self._write() as conn:
            conn.execute(
                update(EveningRow)
                .where(
                    EveningRow.delivery == "pending",
                    or_(EveningRow.due_at < now - grace, EveningRow.ends_at <= now),
                )
                .values(delivery="not_sent", note="late")
            )
            chosen = (
                select(EveningRow.id)
                .where(EveningRow.delivery == "pending", EveningRow.due_at <= now)
                .order_by(EveningRow.due_at, EveningRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = conn.execute(
                update(EveningRow)
                .where(EveningRow.id.in_(chosen), EveningRow.delivery == "pending")
                .values(delivery="sending", claimed_at=now)
                .returning(*_EVENING_COLUMNS)
            ).all()
        return sorted((_evening(r) for r in rows), key=lambda e: (e.due_at, e.id))

    def record_reminder(
        self,
        evening_id: int,
        delivery: Delivery,
        now: datetime,
        *,
        message_id: int | None = None,
        nudge_at: datetime | None = None,
    ) -> bool:
        """Record what became of one claimed reminder (see :meth:`record_reminders`)."""
        recorded = self.record_reminders(
            [SendRecord(evening_id, delivery, message_id)], now, nudge_at=nudge_at
        )
        return recorded == 1

    def record_reminders(
        self, results: Sequence[SendRecord], now: datetime, *, nudge_at: datetime | None = None
    ) -> int:
        """Record what became of claimed reminders, in one transaction; each sent one still
        unanswered gets its nudge row (due `nudge_at`). Rows no longer ``sending`` (or
        ``unknown`` after a sweep) are left alone. Returns how many were recorded."""
        _aware(now)
        recorded = 0
        nudges: list[dict[str, Any]] = []
        with self._write() as conn:
            for result in results:
                row = conn.execute(
                    _RECORD,
                    {
                        "b_id": result.id,
                        "b_delivery": result.delivery,
                        "b_sent": now if result.delivery == "sent" else None,
                        "b_message": result.message_id,
                    },
                ).one_or_none()
                if row is None:
                    continue
                recorded += 1
                if result.delivery == "sent" and nudge_at is not None and row.outcome == "none":
                    nudges.append(
                        {
                            "evening_id": result.id,
                            "chat_id": row.chat_id,
                            "kind": "nudge",
                            "seq": 0,
                            "due_at": nudge_at,
                            "expires_at": row.ends_at,
                            "delivery": "pending",
                        }
                    )
            if nudges:
                conn.execute(insert(FollowupRow), nudges)
        return recorded

    def recover_sending(self, before: datetime) -> int:
        """Rows claimed before `before` and still ``sending`` (their process died mid-send)
        become ``unknown``: they may have arrived, so they are never sent again."""
        _aware(before)
        stuck_evening = select(EveningRow.id).where(
            EveningRow.delivery == "sending", EveningRow.claimed_at < before
        )
        stuck_followup = select(FollowupRow.id).where(
            FollowupRow.delivery == "sending", FollowupRow.claimed_at < before
        )
        if not self._exists(stuck_evening) and not self._exists(stuck_followup):
            return 0
        with self._write() as conn:
            evenings = conn.execute(
                update(EveningRow)
                .where(EveningRow.delivery == "sending", EveningRow.claimed_at < before)
                .values(delivery="unknown", note="interrupted")
            ).rowcount
            followups = conn.execute(
                update(FollowupRow)
                .where(FollowupRow.delivery == "sending", FollowupRow.claimed_at < before)
                .values(delivery="unknown", note="interrupted")
            ).rowcount
        return int(evenings) + int(followups)

    def close_missed(self, now: datetime) -> int:
        """Sent reminders still unanswered when the next day starts become missed. Reminders
        that were never delivered (outage, blocked) stay without an outcome."""
        _aware(now)
        closing = select(EveningRow.id).where(
            EveningRow.delivery == "sent", EveningRow.outcome == "none", EveningRow.ends_at <= now
        )
        if not self._exists(closing):
            return 0
        with self._write() as conn:
            closed = conn.execute(
                update(EveningRow)
                .where(
                    EveningRow.delivery == "sent",
                    EveningRow.outcome == "none",
                    EveningRow.ends_at <= now,
                )
                .values(outcome="missed", outcome_at=now)
                .returning(EveningRow.chat_id, EveningRow.evening)
            ).all()
            # The third missed evening in a row is an event for the staff alerts.
            record_missed_runs(conn, [(row.chat_id, row.evening) for row in closed], now)
            return len(closed)

    # -- reading ---------------------------------------------------------------------------

    def get_evening(self, evening_id: int) -> EveningRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*_EVENING_COLUMNS).where(EveningRow.id == evening_id)
            ).one_or_none()
        return _evening(row) if row is not None else None

    def evening_for(self, chat_id: int, evening: date) -> EveningRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*_EVENING_COLUMNS).where(
                    EveningRow.chat_id == chat_id, EveningRow.evening == evening
                )
            ).one_or_none()
        return _evening(row) if row is not None else None

    def evenings_for_chat(self, chat_id: int, limit: int = 60) -> list[EveningRecord]:
        """The chat's most recent evenings, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_EVENING_COLUMNS)
                .where(EveningRow.chat_id == chat_id)
                .order_by(EveningRow.evening.desc())
                .limit(limit)
            ).all()
        return [_evening(r) for r in rows]

    def followups_for_evening(self, evening_id: int) -> list[tuple[str, int, str]]:
        """(kind, seq, delivery) of an evening's follow-ups, in order."""
        with self._read() as conn:
            rows = conn.execute(
                select(FollowupRow.kind, FollowupRow.seq, FollowupRow.delivery)
                .where(FollowupRow.evening_id == evening_id)
                .order_by(FollowupRow.id)
            ).all()
        return [(r.kind, r.seq, r.delivery) for r in rows]
