"""Adherence and missed-evening runs, as the reminders define them. Pure functions.

An evening counts for adherence only when the patient had the reminder and an answer is
recorded: ``taken``, ``skipped`` or ``missed`` (a sent reminder left unanswered when the next
day started). Evenings whose reminder was not sent (an outage, a pause, a blocked chat) or
whose delivery is unknown, and that have no tap, count neither for nor against the patient:

    adherence = taken / (taken + skipped + missed)

A run of missed evenings is counted the same way: evenings without a delivered reminder and
without a tap are passed over, they neither break nor lengthen the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

COUNTED = ("taken", "skipped", "missed")
MISSED_RUN = 3  # the run of missed evenings that raises a staff alert


@dataclass(frozen=True, slots=True)
class EveningMark:
    """One evening as adherence sees it: its date, the reminder's delivery, the outcome."""

    evening: date
    delivery: str
    outcome: str

    @property
    def counted(self) -> bool:
        return self.outcome in COUNTED

    @property
    def transparent(self) -> bool:
        """Neither delivered nor answered: not the patient's to count."""
        return not self.counted and self.delivery != "sent"


@dataclass(frozen=True, slots=True)
class Adherence:
    taken: int = 0
    skipped: int = 0
    missed: int = 0

    @property
    def counted(self) -> int:
        return self.taken + self.skipped + self.missed

    @property
    def ratio(self) -> float | None:
        """taken / counted, or None when no evening counts."""
        return self.taken / self.counted if self.counted else None

    def __add__(self, other: Adherence) -> Adherence:
        return Adherence(
            self.taken + other.taken, self.skipped + other.skipped, self.missed + other.missed
        )


def adherence(outcomes: Iterable[str]) -> Adherence:
    """Count outcomes (anything but taken, skipped and missed is left out)."""
    taken = skipped = missed = 0
    for outcome in outcomes:
        if outcome == "taken":
            taken += 1
        elif outcome == "skipped":
            skipped += 1
        elif outcome == "missed":
            missed += 1
    return Adherence(taken, skipped, missed)


def missed_run(evenings: Sequence[EveningMark], upto: date) -> int:
    """How many missed evenings in a row end at `upto` (0 if `upto` is not missed), passing
    over evenings that were neither delivered nor answered. `evenings` in any order."""
    run = 0
    for mark in sorted((e for e in evenings if e.evening <= upto), key=lambda e: e.evening)[::-1]:
        if mark.evening == upto and mark.outcome != "missed":
            return 0
        if mark.transparent:
            continue
        if mark.outcome != "missed":
            break
        run += 1
    return run


def completes_missed_run(evenings: Sequence[EveningMark], upto: date) -> bool:
    """Whether the evening `upto`, just marked missed, is the third missed in a row. Exactly
    the third: a run that goes on does not alert again until it is broken."""
    return missed_run(evenings, upto) == MISSED_RUN
