"""What a patient's history says: each evening's status and adherence over a window.

Plain values in, plain values out. Adherence counts only evenings the patient could answer:
an evening whose reminder was never delivered (an outage, a pause, a block) does not count
against them, whatever it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Final, Literal

Status = Literal["taken", "skipped", "missed", "not_sent", "paused", "no_answer", "open"]

# Deliveries after which the patient had a reminder to answer.
DELIVERED: Final = frozenset({"sent", "unknown"})


@dataclass(frozen=True, slots=True)
class Night:
    """One evening as stored: its date, dose, the reminder's delivery and the outcome."""

    evening: date
    dose_mg: Decimal
    delivery: str
    outcome: str
    note: str | None = None  # why a reminder was not sent: "paused", "late", "unreachable"


@dataclass(frozen=True, slots=True)
class Adherence:
    days: int
    taken: int
    counted: int  # evenings that count: taken, skipped or missed

    @property
    def percent(self) -> int | None:
        """Whole percent of counted evenings taken; None when none counted."""
        if self.counted == 0:
            return None
        return round(100 * self.taken / self.counted)


def status(night: Night, today: date | None = None) -> Status:
    """What the history shows for an evening, as of the evening `today`. An earlier evening
    with neither an answer nor a "missed" is ``no_answer``: its reminder's delivery is
    unknown (a send whose answer was lost), so it may never have arrived, and it does not
    count against the patient."""
    if night.outcome in ("taken", "skipped", "missed"):
        return night.outcome  # type: ignore[return-value]
    if night.delivery in ("not_sent", "blocked"):
        return "paused" if night.note == "paused" else "not_sent"
    if today is not None and night.evening < today:
        return "no_answer"
    return "open"  # tonight, still to answer (or on its way)


def adherence(nights: list[Night], today: date, days: int) -> Adherence:
    """Taken out of counted evenings among the `days` evenings ending with `today`. An open
    evening (tonight, unanswered) does not count yet; a tap on an evening that was recorded
    not sent (rare: an old reminder) counts as the patient said."""
    first = today - timedelta(days=days - 1)
    taken = counted = 0
    for night in nights:
        if not first <= night.evening <= today:
            continue
        shown = status(night)
        if shown in ("taken", "skipped", "missed"):
            counted += 1
            taken += shown == "taken"
    return Adherence(days, taken, counted)
