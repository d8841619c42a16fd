"""Symptom check-ins (side effects after a step-up, the weekly pain score) and their answers.

Exactly once, as for reminders: a check-in is a row unique on (chat, local evening, kind),
planned by ``INSERT ... ON CONFLICT DO NOTHING``; it is claimed (``pending`` -> ``sending``,
committed) before it is sent, and a row still ``sending`` after a crash becomes ``unknown``,
never sent again. An answer is unique on (check-in, item): a second tap makes no second row.

The staff side reads answers with :meth:`CheckinQueries.checkin_answers_between`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reminders.checkins import checkins_due
from reminders.plan import mg

from .base import StoreBase, _aware
from .models import (
    CHECKIN_ITEMS,
    SEVERITIES,
    ChatPreference,
    CheckinAnswerRow,
    CheckinRow,
    Event,
    RegimenRow,
)
from .records import BATCH, Delivery, EveningRecord, _stored

CHECKINS_PREFERENCE: Final = "checkins"  # chat_preferences key: "off" turns check-ins off
SEVERE_EVENT: Final = "severe-side-effect"  # recorded with the answer, for the staff alerts


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    id: int
    chat_id: int
    local_date: date
    kind: str
    step: int
    dose_mg: Decimal
    delivery: str
    due_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class CheckinAnswerRecord:
    """One answer, with the check-in's evening and kind (what the staff side reads)."""

    id: int
    checkin_id: int
    chat_id: int
    item: str
    severity: str | None
    score: int | None
    recorded_at: datetime
    local_date: date
    kind: str


@dataclass(frozen=True, slots=True)
class AnswerTap:
    """What a check-in button did: ``recorded`` False when that item was already answered
    (``answer`` is then the first answer, which stands)."""

    recorded: bool
    answer: CheckinAnswerRecord
    checkin: CheckinRecord


_CHECKIN_COLUMNS = (
    CheckinRow.id,
    CheckinRow.chat_id,
    CheckinRow.local_date,
    CheckinRow.kind,
    CheckinRow.step,
    CheckinRow.dose_mg,
    CheckinRow.delivery,
    CheckinRow.due_at,
    CheckinRow.expires_at,
    CheckinRow.sent_at,
    CheckinRow.message_id,
)
_ANSWERS = select(
    CheckinAnswerRow.id,
    CheckinAnswerRow.checkin_id,
    CheckinAnswerRow.chat_id,
    CheckinAnswerRow.item,
    CheckinAnswerRow.severity,
    CheckinAnswerRow.score,
    CheckinAnswerRow.recorded_at,
    CheckinRow.local_date,
    CheckinRow.kind,
).join(CheckinRow, CheckinRow.id == CheckinAnswerRow.checkin_id)


def _checkin(row: Any) -> CheckinRecord:
    values = list(row)
    values[5] = Decimal(values[5])
    return CheckinRecord(*values)


def _answer(row: Any) -> CheckinAnswerRecord:
    return CheckinAnswerRecord(*row)


class CheckinQueries(StoreBase):
    # -- planning and claims ---------------------------------------------------------------

    def plan_checkins(
        self,
        evenings: Sequence[EveningRecord],
        now: datetime,
        *,
        after_days: int,
        pain_every_days: int,
    ) -> int:
        """Plan the check-ins these evenings ask (their reminders have just gone out), due
        `now`, for chats that have not turned check-ins off. Returns how many were created;
        planning an evening twice creates nothing more."""
        _aware(now)
        if not evenings:
            return 0
        chats = sorted({e.chat_id for e in evenings})
        values: list[dict[str, Any]] = []
        with self._write() as conn:
            regimens = {
                row.chat_id: _stored(row).regimen
                for row in conn.execute(select(RegimenRow).where(RegimenRow.chat_id.in_(chats)))
            }
            off = set(
                conn.scalars(
                    select(ChatPreference.chat_id).where(
                        ChatPreference.chat_id.in_(chats),
                        ChatPreference.key == CHECKINS_PREFERENCE,
                        ChatPreference.value == "off",
                    )
                )
            )
            for evening in evenings:
                regimen = regimens.get(evening.chat_id)
                if regimen is None or evening.chat_id in off or evening.ends_at <= now:
                    continue
                for item in checkins_due(
                    regimen,
                    evening.evening,
                    after_days=after_days,
                    pain_every_days=pain_every_days,
                ):
                    values.append(
                        {
                            "chat_id": evening.chat_id,
                            "local_date": item.evening,
                            "kind": item.kind,
                            "step": item.step,
                            "dose_mg": mg(item.dose_mg),
                            "delivery": "pending",
                            "due_at": now,
                            "expires_at": evening.ends_at,
                        }
                    )
            return self._insert_checkins(conn, values) if values else 0

    def _insert_checkins(self, conn: Connection, values: Sequence[dict[str, Any]]) -> int:
        keys = [CheckinRow.chat_id, CheckinRow.local_date, CheckinRow.kind]
        if conn.dialect.name == "postgresql":
            stmt: Any = postgresql.insert(CheckinRow).on_conflict_do_nothing(index_elements=keys)
        else:
            stmt = sqlite.insert(CheckinRow).on_conflict_do_nothing(index_elements=keys)
        return len(conn.execute(stmt.returning(CheckinRow.id), list(values)).all())

    def claim_checkins(self, now: datetime, *, limit: int = BATCH) -> list[CheckinRecord]:
        """Claim pending check-ins due by `now` (``sending``, committed before any send);
        those whose evening is over are recorded ``not_sent``."""
        _aware(now)
        with self._read() as conn:
            pending = select(CheckinRow.id).where(CheckinRow.delivery == "pending").limit(1)
            if conn.execute(pending).first() is None:
                return []  # the usual tick: a read, no write lock
        with self._write() as conn:
            conn.execute(
                update(CheckinRow)
                .where(CheckinRow.delivery == "pending", CheckinRow.expires_at <= now)
                .values(delivery="not_sent", note="late")
            )
            chosen = (
                select(CheckinRow.id)
                .where(CheckinRow.delivery == "pending", CheckinRow.due_at <= now)
                .order_by(CheckinRow.due_at, CheckinRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = conn.execute(
                update(CheckinRow)
                .where(CheckinRow.id.in_(chosen), CheckinRow.delivery == "pending")
                .values(delivery="sending", claimed_at=now)
                .returning(*_CHECKIN_COLUMNS)
            ).all()
        return sorted((_checkin(r) for r in rows), key=lambda c: (c.due_at, c.id))

    def record_checkin(
        self, checkin_id: int, delivery: Delivery, now: datetime, *, message_id: int | None
    ) -> bool:
        """Record what became of one claimed check-in; False if it was not being sent."""
        _aware(now)
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(CheckinRow)
                    .where(
                        CheckinRow.id == checkin_id,
                        CheckinRow.delivery.in_(("sending", "unknown")),
                    )
                    .values(
                        delivery=delivery,
                        sent_at=now if delivery == "sent" else None,
                        message_id=message_id,
                        note=None,
                    )
                ).rowcount
            )

    def recover_checkins(self, before: datetime) -> int:
        """Check-ins claimed before `before` and still ``sending`` become ``unknown``."""
        _aware(before)
        stuck = (CheckinRow.delivery == "sending", CheckinRow.claimed_at < before)
        with self._read() as conn:
            if conn.execute(select(CheckinRow.id).where(*stuck).limit(1)).first() is None:
                return 0
        with self._write() as conn:
            return int(
                conn.execute(
                    update(CheckinRow).where(*stuck).values(delivery="unknown", note="interrupted")
                ).rowcount
            )

    # -- answers ---------------------------------------------------------------------------

    def record_checkin_answer(
        self,
        chat_id: int,
        checkin_id: int,
        item: str,
        now: datetime,
        *,
        severity: str | None = None,
        score: int | None = None,
        user_id: int | None = None,
    ) -> AnswerTap | None:
        """Record one tap on a check-in of this chat. The first answer for an item stands; a
        second tap records nothing. A severe side effect is recorded in the same transaction
        as a ``severe-side-effect`` event (ref ``<checkin id>:<item>``), so the clinic hears
        of it exactly once. None: no such check-in for this chat, or an answer that does not
        fit its kind (a forged button)."""
        _aware(now)
        if item not in CHECKIN_ITEMS or (severity is not None and severity not in SEVERITIES):
            return None
        with self._write() as conn:
            row = conn.execute(
                select(*_CHECKIN_COLUMNS).where(
                    CheckinRow.id == checkin_id, CheckinRow.chat_id == chat_id
                )
            ).one_or_none()
            if row is None:
                return None
            checkin = _checkin(row)
            if not _fits(checkin.kind, item, severity, score):
                return None
            values = {
                "checkin_id": checkin_id,
                "chat_id": chat_id,
                "item": item,
                "severity": severity,
                "score": score,
                "recorded_at": now,
            }
            keys = [CheckinAnswerRow.checkin_id, CheckinAnswerRow.item]
            if conn.dialect.name == "postgresql":
                stmt: Any = postgresql.insert(CheckinAnswerRow).on_conflict_do_nothing(
                    index_elements=keys
                )
            else:
                stmt = sqlite.insert(CheckinAnswerRow).on_conflict_do_nothing(index_elements=keys)
            inserted = conn.execute(stmt.values(values).returning(CheckinAnswerRow.id)).first()
            if inserted is not None and severity == "severe":
                conn.execute(
                    insert(Event).values(
                        chat_id=chat_id,
                        user_id=user_id,
                        kind=SEVERE_EVENT,
                        ref=f"{checkin_id}:{item}",
                        occurred_at=now,
                    )
                )
            answer = conn.execute(
                _ANSWERS.where(
                    CheckinAnswerRow.checkin_id == checkin_id, CheckinAnswerRow.item == item
                )
            ).one()
        return AnswerTap(inserted is not None, _answer(answer), checkin)

    def get_checkin(self, checkin_id: int) -> CheckinRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*_CHECKIN_COLUMNS).where(CheckinRow.id == checkin_id)
            ).one_or_none()
        return _checkin(row) if row is not None else None

    def checkins_for_chat(self, chat_id: int) -> list[CheckinRecord]:
        """The chat's check-ins, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_CHECKIN_COLUMNS)
                .where(CheckinRow.chat_id == chat_id)
                .order_by(CheckinRow.local_date, CheckinRow.id)
            ).all()
        return [_checkin(r) for r in rows]

    def answers_for_checkin(self, checkin_id: int) -> list[CheckinAnswerRecord]:
        with self._read() as conn:
            rows = conn.execute(
                _ANSWERS.where(CheckinAnswerRow.checkin_id == checkin_id).order_by(
                    CheckinAnswerRow.id
                )
            ).all()
        return [_answer(r) for r in rows]

    def checkin_answers_for_chat(
        self, chat_id: int, since: date | None = None
    ) -> list[CheckinAnswerRecord]:
        """The chat's answers, oldest evening first (from the evening `since`, if given)."""
        stmt = _ANSWERS.where(CheckinAnswerRow.chat_id == chat_id)
        if since is not None:
            stmt = stmt.where(CheckinRow.local_date >= since)
        with self._read() as conn:
            rows = conn.execute(stmt.order_by(CheckinRow.local_date, CheckinAnswerRow.id)).all()
        return [_answer(r) for r in rows]

    def checkin_answers_between(
        self, since: datetime, until: datetime
    ) -> list[CheckinAnswerRecord]:
        """Every chat's answers recorded in [since, until), in the order recorded (for the
        clinic's /stats and export)."""
        _aware(since)
        _aware(until)
        with self._read() as conn:
            rows = conn.execute(
                _ANSWERS.where(
                    CheckinAnswerRow.recorded_at >= since, CheckinAnswerRow.recorded_at < until
                ).order_by(CheckinAnswerRow.recorded_at, CheckinAnswerRow.id)
            ).all()
        return [_answer(r) for r in rows]

    # -- the patient's choice --------------------------------------------------------------

    def checkins_enabled(self, chat_id: int) -> bool:
        with self._read() as conn:
            value = conn.scalar(
                select(ChatPreference.value).where(
                    ChatPreference.chat_id == chat_id, ChatPreference.key == CHECKINS_PREFERENCE
                )
            )
        return value != "off"


def _fits(kind: str, item: str, severity: str | None, score: int | None) -> bool:
    if kind == "pain":
        return item == "pain" and severity is None and score is not None and 0 <= score <= 10
    if item == "none":
        return severity is None and score is None
    return item != "pain" and severity is not None and score is None
