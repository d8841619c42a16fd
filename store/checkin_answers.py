"""Answers to symptom check-ins: one row per (check-in, item), changed in place, and the
``severe-side-effect`` event that a severe answer brings, at most once per item.

The staff side reads answers with :meth:`CheckinAnswerQueries.checkin_answers_between`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .base import StoreBase, _aware
from .checkins import _CHECKIN_COLUMNS, SEVERE_EVENT, CheckinRecord, _checkin
from .models import CHECKIN_ITEMS, SEVERITIES, CheckinAnswerRow, CheckinRow, Event


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
    """What a check-in button did: ``recorded`` False when the item already had this very
    answer; ``changed`` True when it had another one, now replaced (the same row)."""

    recorded: bool
    answer: CheckinAnswerRecord
    checkin: CheckinRecord
    changed: bool = False


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


def _answer(row: Any) -> CheckinAnswerRecord:
    return CheckinAnswerRecord(*row)


class CheckinAnswerQueries(StoreBase):
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
        """Record one tap on a check-in of this chat: a first answer for the item is a new
        row; another answer replaces it in place (a patient may correct "mild" to "severe",
        or back). A severe side effect is recorded in the same transaction as a
        ``severe-side-effect`` event (ref ``<checkin id>:<item>``), at most once per item, so
        the clinic hears of it exactly once however often it is tapped or changed. None: no
        such check-in for this chat, or an answer that does not fit its kind (a forged
        button)."""
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
            mine = (CheckinAnswerRow.checkin_id == checkin_id, CheckinAnswerRow.item == item)
            keys = [CheckinAnswerRow.checkin_id, CheckinAnswerRow.item]
            if conn.dialect.name == "postgresql":
                stmt: Any = postgresql.insert(CheckinAnswerRow).on_conflict_do_nothing(
                    index_elements=keys
                )
            else:
                stmt = sqlite.insert(CheckinAnswerRow).on_conflict_do_nothing(index_elements=keys)
            values = {
                "checkin_id": checkin_id,
                "chat_id": chat_id,
                "item": item,
                "severity": severity,
                "score": score,
                "recorded_at": now,
            }
            inserted = conn.execute(stmt.values(values).returning(CheckinAnswerRow.id)).first()
            changed = False
            if inserted is None:
                # Answered before: the row is locked until commit, so two taps at once on
                # PostgreSQL are applied one after the other, never both as "first".
                before = conn.execute(
                    select(CheckinAnswerRow.severity, CheckinAnswerRow.score)
                    .where(*mine)
                    .with_for_update()
                ).one()
                changed = (before.severity, before.score) != (severity, score)
                if changed:
                    conn.execute(
                        update(CheckinAnswerRow)
                        .where(*mine)
                        .values(severity=severity, score=score, recorded_at=now)
                    )
            ref = f"{checkin_id}:{item}"
            if (inserted is not None or changed) and severity == "severe":
                known = conn.execute(
                    select(Event.id).where(
                        Event.chat_id == chat_id, Event.kind == SEVERE_EVENT, Event.ref == ref
                    )
                ).first()
                if known is None:
                    conn.execute(
                        insert(Event).values(
                            chat_id=chat_id,
                            user_id=user_id,
                            kind=SEVERE_EVENT,
                            ref=ref,
                            occurred_at=now,
                        )
                    )
            answer = conn.execute(_ANSWERS.where(*mine)).one()
        return AnswerTap(inserted is not None or changed, _answer(answer), checkin, changed)

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


def _fits(kind: str, item: str, severity: str | None, score: int | None) -> bool:
    if kind == "pain":
        return item == "pain" and severity is None and score is not None and 0 <= score <= 10
    if item == "none":
        return severity is None and score is None
    return item != "pain" and severity is not None and score is None
