"""Snoozes and nudges (rows with due times, claimed like reminders), taps, and holds."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, or_, select, update

from reminders.plan import mg

from .base import StoreBase, _aware
from .models import EveningRow, FollowupRow, RegimenRow
from .records import (
    _EVENING_COLUMNS,
    BATCH,
    Delivery,
    EveningRecord,
    FollowupRecord,
    Outcome,
    Tap,
    _evening,
    _stored,
)


class FollowupQueries(StoreBase):
    def hold_step(
        self, chat_id: int, evening_id: int, now: datetime, days: int
    ) -> tuple[EveningRecord, bool] | None:
        """ "Stay on my current dose" on a step-up reminder, while its evening is open: hold
        the step `days` more days from that evening, which then records the held dose.
        Idempotent: the evening stops being a step-up once held; the flag says whether this
        call added the hold (False also when the evening is over: the clinic decides then)."""
        with self._write() as conn:
            row = conn.execute(
                select(*_EVENING_COLUMNS).where(
                    EveningRow.id == evening_id, EveningRow.chat_id == chat_id
                )
            ).one_or_none()
            reg = conn.execute(
                select(RegimenRow).where(RegimenRow.chat_id == chat_id)
            ).one_or_none()
            if row is None or reg is None:
                return None
            evening = _evening(row)
            if not evening.step_up or now >= evening.ends_at:
                return evening, False
            stored = _stored(reg)
            held = stored.regimen.with_hold(evening.evening, days)
            conn.execute(
                update(RegimenRow)
                .where(RegimenRow.chat_id == chat_id)
                .values(holds=held.holds_json(), updated_at=now)
            )
            night = held.tonight(evening.evening)
            assert night is not None
            conn.execute(
                update(EveningRow)
                .where(EveningRow.id == evening_id)
                .values(
                    step_up=False, dose_mg=mg(night.dose_mg), step=night.step, label=night.label
                )
            )
            updated = conn.execute(
                select(*_EVENING_COLUMNS).where(EveningRow.id == evening_id)
            ).one()
        return _evening(updated), True

    # -- follow-ups ------------------------------------------------------------------------

    def snooze(self, chat_id: int, evening_id: int, now: datetime, minutes: int) -> datetime | None:
        """Ask again in `minutes`: one pending snooze per evening (a double tap adds none),
        replacing the nudge. Returns when, or None if the evening is answered or over."""
        _aware(now)
        with self._write() as conn:
            row = conn.execute(
                select(EveningRow.outcome, EveningRow.ends_at).where(
                    EveningRow.id == evening_id, EveningRow.chat_id == chat_id
                )
            ).one_or_none()
            if row is None or row.outcome not in ("none",) or row.ends_at <= now:
                return None
            pending = conn.execute(
                select(FollowupRow.due_at).where(
                    FollowupRow.evening_id == evening_id,
                    FollowupRow.kind == "snooze",
                    FollowupRow.delivery.in_(("pending", "sending")),
                )
            ).scalar_one_or_none()
            if pending is not None:
                return pending
            conn.execute(
                update(FollowupRow)
                .where(
                    FollowupRow.evening_id == evening_id,
                    FollowupRow.kind == "nudge",
                    FollowupRow.delivery == "pending",
                )
                .values(delivery="not_sent", note="snoozed")
            )
            seq = conn.execute(
                select(func.count())
                .select_from(FollowupRow)
                .where(FollowupRow.evening_id == evening_id, FollowupRow.kind == "snooze")
            ).scalar_one()
            at = min(now + timedelta(minutes=minutes), row.ends_at)
            conn.execute(
                insert(FollowupRow).values(
                    evening_id=evening_id,
                    chat_id=chat_id,
                    kind="snooze",
                    seq=int(seq) + 1,
                    due_at=at,
                    expires_at=row.ends_at,
                    delivery="pending",
                )
            )
            return at

    def claim_followups(
        self, now: datetime, grace: timedelta, *, limit: int = BATCH
    ) -> list[FollowupRecord]:
        """Claim snoozes and nudges due by `now`, like reminders; those whose evening is over,
        answered, or that are more than `grace` late are recorded ``not_sent``."""
        _aware(now)
        with self._read() as conn:
            pending = select(FollowupRow.id).where(FollowupRow.delivery == "pending").limit(1)
            if conn.execute(pending).first() is None:
                return []  # the usual tick: a read, no write lock
        with self._write() as conn:
            conn.execute(
                update(FollowupRow)
                .where(
                    FollowupRow.delivery == "pending",
                    or_(FollowupRow.expires_at <= now, FollowupRow.due_at < now - grace),
                )
                .values(delivery="not_sent", note="late")
            )
            chosen = (
                select(FollowupRow.id)
                .where(FollowupRow.delivery == "pending", FollowupRow.due_at <= now)
                .order_by(FollowupRow.due_at, FollowupRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            claimed = (
                conn.execute(
                    update(FollowupRow)
                    .where(FollowupRow.id.in_(chosen), FollowupRow.delivery == "pending")
                    .values(delivery="sending", claimed_at=now)
                    .returning(FollowupRow.id)
                )
                .scalars()
                .all()
            )
            if not claimed:
                return []
            rows = conn.execute(
                select(
                    FollowupRow.id,
                    FollowupRow.kind,
                    FollowupRow.seq,
                    FollowupRow.due_at,
                    FollowupRow.delivery,
                    FollowupRow.message_id,
                    *_EVENING_COLUMNS,
                )
                .join(EveningRow, EveningRow.id == FollowupRow.evening_id)
                .where(FollowupRow.id.in_(list(claimed)))
                .order_by(FollowupRow.due_at, FollowupRow.id)
            ).all()
        out = []
        for row in rows:
            evening = _evening(row[6:])
            out.append(FollowupRecord(*row[:6], evening=evening))
        return out

    def record_followup(
        self, followup_id: int, delivery: Delivery, now: datetime, *, message_id: int | None
    ) -> bool:
        """Record what became of one claimed follow-up; False if it was not being sent."""
        return self._record_send(FollowupRow, followup_id, delivery, now, message_id)

    # -- taps ------------------------------------------------------------------------------

    def record_outcome(
        self, chat_id: int, evening_id: int, outcome: Outcome, now: datetime
    ) -> Tap | None:
        """Taken or Skip on a reminder of that evening (old reminders log against their own
        evening). The first answer counts; a second tap changes nothing. A late answer on an
        evening already marked missed (nothing tapped by morning) replaces it: the patient's
        word is better than our guess. None: no such evening for this chat."""
        _aware(now)
        with self._write() as conn:
            changed = conn.execute(
                update(EveningRow)
                .where(
                    EveningRow.id == evening_id,
                    EveningRow.chat_id == chat_id,
                    EveningRow.outcome.in_(("none", "missed")),
                )
                .values(outcome=outcome, outcome_at=now)
                .returning(*_EVENING_COLUMNS)
            ).one_or_none()
            if changed is not None:
                conn.execute(
                    update(FollowupRow)
                    .where(FollowupRow.evening_id == evening_id, FollowupRow.delivery == "pending")
                    .values(delivery="not_sent", note="answered")
                )
                return Tap(True, _evening(changed))
            row = conn.execute(
                select(*_EVENING_COLUMNS).where(
                    EveningRow.id == evening_id, EveningRow.chat_id == chat_id
                )
            ).one_or_none()
        return Tap(False, _evening(row)) if row is not None else None
