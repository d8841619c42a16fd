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
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reminders import Action, Pause, PauseState, Regimen, Tonight, due
from reminders.plan import mg

from .base import StoreBase, _aware
from .models import EveningRow, FollowupRow, PlanDraft, RegimenRow

Delivery = Literal["pending", "sending", "sent", "unknown", "not_sent", "blocked"]
Outcome = Literal["none", "taken", "skipped", "missed"]
FollowupKind = Literal["snooze", "nudge"]
BATCH = 500


@dataclass(frozen=True, slots=True)
class StoredRegimen:
    chat_id: int
    regimen: Regimen
    pause: PauseState
    next_evening: date
    next_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class EveningRecord:
    id: int
    chat_id: int
    evening: date
    dose_mg: Decimal
    previous_mg: Decimal | None
    step: int
    step_up: bool
    label: str
    due_at: datetime
    ends_at: datetime
    delivery: str
    note: str | None
    sent_at: datetime | None
    message_id: int | None
    outcome: str
    outcome_at: datetime | None


@dataclass(frozen=True, slots=True)
class FollowupRecord:
    id: int
    kind: str
    seq: int
    due_at: datetime
    delivery: str
    message_id: int | None
    evening: EveningRecord


@dataclass(frozen=True, slots=True)
class Draft:
    chat_id: int
    stage: str
    plan_name: str | None
    start_date: date | None
    remind_at: time | None
    timezone: str | None


@dataclass(frozen=True, slots=True)
class Tap:
    """What a button press did: ``recorded`` False when the evening already had an answer."""

    recorded: bool
    evening: EveningRecord


_EVENING_COLUMNS = (
    EveningRow.id,
    EveningRow.chat_id,
    EveningRow.evening,
    EveningRow.dose_mg,
    EveningRow.previous_mg,
    EveningRow.step,
    EveningRow.step_up,
    EveningRow.label,
    EveningRow.due_at,
    EveningRow.ends_at,
    EveningRow.delivery,
    EveningRow.note,
    EveningRow.sent_at,
    EveningRow.message_id,
    EveningRow.outcome,
    EveningRow.outcome_at,
)


def _evening(row: Any) -> EveningRecord:
    values = list(row)
    values[3] = Decimal(values[3])
    values[4] = Decimal(values[4]) if values[4] is not None else None
    values[6] = bool(values[6])
    return EveningRecord(*values)


def _hhmm(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _stored(row: Any) -> StoredRegimen:
    regimen = Regimen(
        plan_name=row.plan_name,
        steps=Regimen.parse_steps(row.steps),
        start=row.start_date,
        at=_time(row.remind_at),
        timezone=row.timezone,
        holds=Regimen.parse_holds(row.holds),
        max_mg=Decimal(row.max_mg),
        plan_title=row.plan_title,
    )
    pause = PauseState(Pause(row.state), row.paused_until)
    return StoredRegimen(row.chat_id, regimen, pause, row.next_evening, row.next_due_at)


def _evening_values(chat_id: int, night: Tonight, due_at: datetime, ends_at: datetime) -> dict:
    return {
        "chat_id": chat_id,
        "evening": night.evening,
        "dose_mg": mg(night.dose_mg),
        "previous_mg": mg(night.previous_mg) if night.previous_mg is not None else None,
        "step": night.step,
        "step_up": night.step_up,
        "label": night.label,
        "due_at": due_at,
        "ends_at": ends_at,
        "outcome": "none",
    }


class ReminderQueries(StoreBase):
    # -- regimens --------------------------------------------------------------------------

    def save_regimen(self, chat_id: int, regimen: Regimen, now: datetime) -> StoredRegimen:
        """Create or replace the chat's regimen (active). Evenings already recorded stay, and
        tonight's reminder is never sent twice: the next evening looked at is never earlier
        than before."""
        _aware(now)
        with self._write() as conn:
            old = conn.execute(
                select(RegimenRow.next_evening).where(RegimenRow.chat_id == chat_id)
            ).scalar_one_or_none()
            following = regimen.first_evening(now)
            if old is not None:
                following = max(following, old)
            values = {
                "chat_id": chat_id,
                "plan_name": regimen.plan_name,
                "plan_title": regimen.plan_title or regimen.plan_name,
                "steps": regimen.steps_json(),
                "max_mg": mg(regimen.max_mg),
                "start_date": regimen.start,
                "remind_at": _hhmm(regimen.at),
                "timezone": regimen.timezone,
                "holds": regimen.holds_json(),
                "state": "active",
                "paused_until": None,
                "next_evening": following,
                "next_due_at": regimen.due_at(following),
                "created_at": now,
                "updated_at": now,
            }
            conn.execute(
                self._upsert(
                    RegimenRow,
                    values,
                    [RegimenRow.chat_id],
                    lambda excluded: {
                        getattr(RegimenRow, key): excluded[key]
                        for key in values
                        if key not in ("chat_id", "created_at")
                    },
                )
            )
        stored = self.get_regimen(chat_id)
        assert stored is not None
        return stored

    def get_regimen(self, chat_id: int) -> StoredRegimen | None:
        with self._read() as conn:
            row = conn.execute(
                select(RegimenRow).where(RegimenRow.chat_id == chat_id)
            ).one_or_none()
        return _stored(row) if row is not None else None

    def update_reminder_time(
        self, chat_id: int, now: datetime, *, at: time | None = None, timezone: str | None = None
    ) -> StoredRegimen | None:
        """Change the reminder time or zone; tonight's reminder, once sent, is not repeated."""
        stored = self.get_regimen(chat_id)
        if stored is None:
            return None
        regimen = stored.regimen
        changed = Regimen(
            regimen.plan_name,
            regimen.steps,
            regimen.start,
            at or regimen.at,
            timezone or regimen.timezone,
            regimen.holds,
            regimen.max_mg,
            regimen.plan_title,
        )
        following = max(stored.next_evening, changed.first_evening(now))
        with self._write() as conn:
            conn.execute(
                update(RegimenRow)
                .where(RegimenRow.chat_id == chat_id)
                .values(
                    remind_at=_hhmm(changed.at),
                    timezone=changed.timezone,
                    next_evening=following,
                    next_due_at=(
                        None if stored.pause.state is Pause.STOPPED else changed.due_at(following)
                    ),
                    updated_at=now,
                )
            )
        return self.get_regimen(chat_id)

    def set_pause(
        self, chat_id: int, state: Pause, now: datetime, *, until: date | None = None
    ) -> StoredRegimen | None:
        """Pause (until `until`, or until resumed), resume, or stop the chat's reminders. The
        plan's calendar keeps running either way; paused evenings are recorded, not sent."""
        stored = self.get_regimen(chat_id)
        if stored is None:
            return None
        values: dict[str, Any] = {"state": state.value, "paused_until": until, "updated_at": now}
        if state is Pause.STOPPED:
            values["next_due_at"] = None
        elif stored.next_due_at is None or stored.pause.state is Pause.STOPPED:
            following = max(stored.next_evening, stored.regimen.first_evening(now))
            values["next_evening"] = following
            values["next_due_at"] = stored.regimen.due_at(following)
        with self._write() as conn:
            conn.execute(update(RegimenRow).where(RegimenRow.chat_id == chat_id).values(values))
        return self.get_regimen(chat_id)

    def hold_step(
        self, chat_id: int, evening_id: int, now: datetime, days: int
    ) -> tuple[EveningRecord, bool] | None:
        """ "Stay on my current dose" on the evening's reminder: hold the step `days` more
        days, from that evening; the evening then records the held dose. Idempotent: the
        flag says whether this call added the hold."""
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
            stored = _stored(reg)
            held = stored.regimen.with_hold(evening.evening, days)
            added = held is not stored.regimen
            if added:
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
                    dose_mg=mg(night.dose_mg), step=night.step, step_up=False, label=night.label
                )
            )
            updated = conn.execute(
                select(*_EVENING_COLUMNS).where(EveningRow.id == evening_id)
            ).one()
        return _evening(updated), added

    def delete_regimen(self, chat_id: int) -> None:
        with self._write() as conn:
            conn.execute(delete(RegimenRow).where(RegimenRow.chat_id == chat_id))

    # -- the /plan draft -------------------------------------------------------------------

    def save_draft(
        self,
        chat_id: int,
        stage: str,
        now: datetime,
        *,
        plan_name: str | None = None,
        start_date: date | None = None,
        remind_at: time | None = None,
        timezone: str | None = None,
    ) -> Draft:
        """Start or continue the chat's /plan setup; fields left None keep their value."""
        values: dict[str, Any] = {
            "chat_id": chat_id,
            "stage": stage,
            "plan_name": plan_name,
            "start_date": start_date,
            "remind_at": _hhmm(remind_at) if remind_at is not None else None,
            "timezone": timezone,
            "updated_at": _aware(now),
        }
        with self._write() as conn:
            conn.execute(
                self._upsert(
                    PlanDraft,
                    values,
                    [PlanDraft.chat_id],
                    lambda excluded: {
                        PlanDraft.stage: excluded.stage,
                        PlanDraft.updated_at: excluded.updated_at,
                        **{
                            getattr(PlanDraft, key): func.coalesce(
                                excluded[key], getattr(PlanDraft, key)
                            )
                            for key in ("plan_name", "start_date", "remind_at", "timezone")
                        },
                    },
                )
            )
        draft = self.get_draft(chat_id)
        assert draft is not None
        return draft

    def get_draft(self, chat_id: int) -> Draft | None:
        with self._read() as conn:
            row = conn.execute(select(PlanDraft).where(PlanDraft.chat_id == chat_id)).one_or_none()
        if row is None:
            return None
        at = _time(row.remind_at) if row.remind_at else None
        return Draft(row.chat_id, row.stage, row.plan_name, row.start_date, at, row.timezone)

    def delete_draft(self, chat_id: int) -> None:
        with self._write() as conn:
            conn.execute(delete(PlanDraft).where(PlanDraft.chat_id == chat_id))

    # -- what is due -----------------------------------------------------------------------

    def materialise_due(self, now: datetime, grace: timedelta, *, batch: int = BATCH) -> int:
        """Create the evening rows whose reminder time has come by `now` (pending, or not_sent
        when late or paused) and move each regimen on to its next evening. Returns the number
        of rows created. Reads only regimens due now, through the ``next_due_at`` index."""
        _aware(now)
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
            for row in rows:
                stored = _stored(row)
                found, following = due(
                    stored.regimen, stored.next_evening, now, grace=grace, pause=stored.pause
                )
                for item in found:
                    value = _evening_values(row.chat_id, item.tonight, item.due_at, item.ends_at)
                    if item.action is Action.SEND:
                        value.update(delivery="pending", note=None)
                    else:
                        value.update(delivery="not_sent", note=item.action.value)
                    values.append(value)
                conn.execute(
                    update(RegimenRow)
                    .where(RegimenRow.chat_id == row.chat_id)
                    .values(next_evening=following, next_due_at=stored.regimen.due_at(following))
                )
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
        inserted = 0
        for start in range(0, len(values), 200):
            chunk = values[start : start + 200]
            result = conn.execute(stmt.values(chunk).returning(EveningRow.id))
            inserted += len(result.all())
        return inserted

    def claim_reminders(
        self, now: datetime, grace: timedelta, *, limit: int = BATCH
    ) -> list[EveningRecord]:
        """Claim pending reminders due by `now` (delivery becomes ``sending``, committed before
        any send); those more than `grace` late are recorded ``not_sent`` instead."""
        _aware(now)
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
        """Record what became of a claimed reminder; a sent one may get its nudge row.
        False if the row was not ``sending`` (or ``unknown`` after a sweep) any more."""
        _aware(now)
        with self._write() as conn:
            result = conn.execute(
                update(EveningRow)
                .where(
                    EveningRow.id == evening_id,
                    EveningRow.delivery.in_(("sending", "unknown")),
                )
                .values(
                    delivery=delivery,
                    sent_at=now if delivery == "sent" else None,
                    message_id=message_id,
                    note=None,
                )
                .returning(EveningRow.chat_id, EveningRow.ends_at, EveningRow.outcome)
            ).one_or_none()
            if result is None:
                return False
            if delivery == "sent" and nudge_at is not None and result.outcome == "none":
                conn.execute(
                    insert(FollowupRow).values(
                        evening_id=evening_id,
                        chat_id=result.chat_id,
                        kind="nudge",
                        seq=0,
                        due_at=nudge_at,
                        expires_at=result.ends_at,
                        delivery="pending",
                    )
                )
            return True

    def recover_sending(self, before: datetime) -> int:
        """Rows claimed before `before` and still ``sending`` (their process died mid-send)
        become ``unknown``: they may have arrived, so they are never sent again."""
        _aware(before)
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
        with self._write() as conn:
            return int(
                conn.execute(
                    update(EveningRow)
                    .where(
                        EveningRow.delivery == "sent",
                        EveningRow.outcome == "none",
                        EveningRow.ends_at <= now,
                    )
                    .values(outcome="missed", outcome_at=now)
                ).rowcount
            )

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
        _aware(now)
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(FollowupRow)
                    .where(
                        FollowupRow.id == followup_id,
                        FollowupRow.delivery.in_(("sending", "unknown")),
                    )
                    .values(
                        delivery=delivery,
                        sent_at=now if delivery == "sent" else None,
                        message_id=message_id,
                        note=None,
                    )
                ).rowcount
            )

    # -- taps ------------------------------------------------------------------------------

    def record_outcome(
        self, chat_id: int, evening_id: int, outcome: Outcome, now: datetime
    ) -> Tap | None:
        """Taken or Skip on a reminder of that evening (old reminders log against their own
        evening). The first answer counts; a second tap changes nothing. A late Taken on an
        evening already marked missed corrects it. None: no such evening for this chat."""
        _aware(now)
        with self._write() as conn:
            changed = conn.execute(
                update(EveningRow)
                .where(
                    EveningRow.id == evening_id,
                    EveningRow.chat_id == chat_id,
                    EveningRow.outcome.in_(("none", "missed") if outcome == "taken" else ("none",)),
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

    def count_due_regimens(self, now: datetime) -> int:
        """How many regimens are due by `now` (what one tick would read)."""
        with self._read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(RegimenRow)
                    .where(RegimenRow.next_due_at <= now)
                ).scalar_one()
            )
