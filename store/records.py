"""Plain values the reminder queries return, and the row conversions they share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from reminders import Pause, PauseState, Regimen, Tonight
from reminders.plan import mg

from .models import EveningRow

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
