"""A patient's regimen and what it asks for each evening: pure functions of their inputs.

The plan's clock runs with the calendar: day N of the plan is the Nth evening since the start,
except while a hold is in force. A hold ("Stay on my current dose") freezes the clock for its
days, so the step the patient is on lasts that much longer and every later step moves later by
exactly as many days. The bot never raises or lowers a dose on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminders.plan import (
    MAX_LDN_MG,
    PlanError,
    Step,
    TitrationPlan,
    check_steps,
    position,
    titration_days,
    titration_weeks,
)
from reminders.timing import evening_ends_at, evening_of, reminder_at

HOLD_DAYS = 7  # "Stay on my current dose" holds the step this many more days


@dataclass(frozen=True, slots=True)
class Hold:
    """From evening `start`, the plan's clock stands still for `days` evenings."""

    start: date
    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise PlanError("a hold lasts at least one day")


@dataclass(frozen=True, slots=True)
class Tonight:
    """What one evening asks for."""

    evening: date
    dose_mg: Decimal
    step: int  # 0-based
    steps: int
    day_in_step: int  # 0-based
    plan_day: int  # 0-based, holds excluded
    week: int  # 1-based week of the plan (holds excluded)
    weeks: int  # weeks until the maintenance step
    step_up: bool  # the first evening of a higher dose: announced, with "Stay on my current dose"
    previous_mg: Decimal | None
    held: bool  # a hold is in force tonight
    maintenance: bool  # the last, open-ended step

    @property
    def label(self) -> str:
        """ "Week 3 of 6" during titration, "Maintenance" after it."""
        if self.maintenance:
            return "Maintenance"
        return f"Week {self.week} of {self.weeks}"


class Pause(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Regimen:
    """A patient's copy of a plan (as it was when chosen), start date, reminder time, zone."""

    plan_name: str
    steps: tuple[Step, ...]
    start: date
    at: time
    timezone: str
    holds: tuple[Hold, ...] = ()
    max_mg: Decimal = MAX_LDN_MG
    plan_title: str = ""

    def __post_init__(self) -> None:
        check_steps(self.steps, self.max_mg)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlanError(f"unknown time zone {self.timezone!r}") from None

    @classmethod
    def from_plan(cls, plan: TitrationPlan, start: date, at: time, timezone: str) -> Regimen:
        return cls(plan.name, plan.steps, start, at, timezone, (), plan.max_mg, plan.title)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # cached by zoneinfo itself

    # -- the plan's clock ------------------------------------------------------------------

    def plan_day(self, evening: date) -> int | None:
        """Day of the plan (0-based) on `evening`, holds excluded; None before the start."""
        raw = (evening - self.start).days
        if raw < 0:
            return None
        # A hold freezes the clock at the day before it began; overlapping holds count once.
        held = 0
        reach = 0  # raw days before this are already counted
        for first, days in sorted(((h.start - self.start).days, h.days) for h in self.holds):
            low, high = max(first, reach, 0), min(first + days, raw + 1)
            if high > low:
                held += high - low
            reach = max(reach, first + days)
        return max(raw - held, 0)

    def holding(self, evening: date) -> bool:
        return any(h.start <= evening < h.start + timedelta(days=h.days) for h in self.holds)

    def tonight(self, evening: date) -> Tonight | None:
        """What `evening` asks for; None before the plan starts."""
        day = self.plan_day(evening)
        if day is None:
            return None
        where = position(self.steps, day)
        dose = self.steps[where.step].dose_mg
        previous = self.steps[where.step - 1].dose_mg if where.step > 0 else None
        step_up = (
            where.day == 0 and previous is not None and dose > previous
        ) and not self.holding(evening)
        return Tonight(
            evening=evening,
            dose_mg=dose,
            step=where.step,
            steps=len(self.steps),
            day_in_step=where.day,
            plan_day=day,
            week=day // 7 + 1,
            weeks=titration_weeks(self.steps),
            step_up=step_up,
            previous_mg=previous,
            held=self.holding(evening),
            maintenance=self.steps[where.step].days is None,
        )

    def with_hold(self, evening: date, days: int = HOLD_DAYS) -> Regimen:
        """The regimen with the step of the evening before `evening` held `days` more days."""
        if any(h.start == evening for h in self.holds):
            return self  # a second tap on the same evening holds once
        return replace(self, holds=(*self.holds, Hold(evening, days)))

    def step_changes(self, last: date | None = None) -> list[tuple[date, Tonight]]:
        """The first evening of each step (holds applied), up to the maintenance step."""
        out: list[tuple[date, Tonight]] = []
        horizon = titration_days(self.steps) + sum(h.days for h in self.holds) + 1
        previous_step = -1
        for offset in range(horizon):
            evening = self.start + timedelta(days=offset)
            if last is not None and evening > last:
                break
            night = self.tonight(evening)
            assert night is not None
            if night.step != previous_step:
                out.append((evening, night))
                previous_step = night.step
        return out

    # -- the calendar ----------------------------------------------------------------------

    def due_at(self, evening: date) -> datetime:
        return reminder_at(evening, self.at, self.zone)

    def ends_at(self, evening: date) -> datetime:
        return evening_ends_at(evening, self.zone)

    def evening_of(self, now: datetime) -> date:
        return evening_of(now, self.timezone)

    def first_evening(self, now: datetime) -> date:
        """The first evening at or after the start whose reminder is not yet past at `now`."""
        evening = max(self.start, self.evening_of(now) - timedelta(days=1))
        while self.due_at(evening) < now:
            evening += timedelta(days=1)
        return evening

    # -- storage form ----------------------------------------------------------------------

    def steps_json(self) -> str:
        return json.dumps([[str(s.dose_mg), s.days] for s in self.steps])

    def holds_json(self) -> str:
        return json.dumps([[h.start.isoformat(), h.days] for h in self.holds])

    @staticmethod
    def parse_steps(text: str) -> tuple[Step, ...]:
        return tuple(Step(Decimal(dose), days) for dose, days in json.loads(text))

    @staticmethod
    def parse_holds(text: str) -> tuple[Hold, ...]:
        return tuple(Hold(date.fromisoformat(start), days) for start, days in json.loads(text))


@dataclass(frozen=True, slots=True)
class PauseState:
    state: Pause = Pause.ACTIVE
    until: date | None = None  # the first evening reminders come back; None: until /resume

    def silent(self, evening: date) -> bool:
        if self.state is Pause.STOPPED:
            return True
        if self.state is Pause.PAUSED:
            return self.until is None or evening < self.until
        return False


class Action(StrEnum):
    SEND = "send"  # due, within the grace window: send it
    LATE = "late"  # fell due while the bot was down, past the grace window: record not_sent
    PAUSED = "paused"  # the patient paused reminders: record, do not send


@dataclass(frozen=True, slots=True)
class DueEvening:
    evening: date
    due_at: datetime
    ends_at: datetime
    action: Action
    tonight: Tonight


def due(
    regimen: Regimen,
    next_evening: date,
    now: datetime,
    *,
    grace: timedelta,
    pause: PauseState = PauseState(),
    limit: int = 400,
) -> tuple[list[DueEvening], date]:
    """The evenings from `next_evening` whose reminder time has come by `now`, each with what
    to do, and the next evening not yet due. Only the latest can be sent: a reminder that is
    more than `grace` late, or whose evening is over, is recorded as not sent."""
    out: list[DueEvening] = []
    evening = max(next_evening, regimen.start)
    while len(out) < limit:
        due_at = regimen.due_at(evening)
        if due_at > now:
            break
        ends_at = regimen.ends_at(evening)
        night = regimen.tonight(evening)
        assert night is not None
        if pause.silent(evening):
            action = Action.PAUSED
        elif now - due_at > grace or now >= ends_at:
            action = Action.LATE
        else:
            action = Action.SEND
        out.append(DueEvening(evening, due_at, ends_at, action, night))
        evening += timedelta(days=1)
    return out, evening
