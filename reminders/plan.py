"""A prescribed titration plan: which dose on which day. The bot follows it, never changes it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

MAX_LDN_MG = Decimal("5")  # LDN is 1-5 mg; anything above is not a low dose and is refused
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*mg\s*(?:(?:x|for)\s*(\d+)\s*(?:d|days?))?\s*$")


class PlanError(ValueError):
    """The plan cannot be followed as written; the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Step:
    dose_mg: Decimal
    days: int | None  # None: the last step, held until the prescriber changes the plan


@dataclass(frozen=True, slots=True)
class Position:
    """Where day ``offset`` of a plan falls: which step, which day of it."""

    step: int  # 0-based
    day: int  # 0-based day within the step


@dataclass(frozen=True, slots=True)
class TitrationPlan:
    """Steps in order, e.g. 1.5 mg for 14 days, 3 mg for 14 days, then 4.5 mg."""

    steps: tuple[Step, ...]
    name: str = ""
    title: str = ""
    max_mg: Decimal = MAX_LDN_MG

    def __post_init__(self) -> None:
        check_steps(self.steps, self.max_mg)

    def dose_on(self, start: date, day: date) -> Decimal | None:
        """The prescribed dose on `day` of a plan that began on `start`; None before it."""
        offset = (day - start).days
        if offset < 0:
            return None
        return self.steps[position(self.steps, offset).step].dose_mg

    def describe(self) -> str:
        return describe_steps(self.steps)


def check_steps(steps: tuple[Step, ...], max_mg: Decimal = MAX_LDN_MG) -> None:
    """Raise :class:`PlanError` unless the steps can be followed (used on load and on copies)."""
    if not Decimal(0) < max_mg <= MAX_LDN_MG:
        raise PlanError(f"the maximum {max_mg} mg is not a low dose (0-5 mg)")
    if not steps:
        raise PlanError("a plan needs at least one step")
    for number, step in enumerate(steps, start=1):
        if not Decimal(0) < step.dose_mg <= MAX_LDN_MG:
            raise PlanError(f"step {number}: {step.dose_mg} mg is not a low dose (0-5 mg)")
        if step.dose_mg > max_mg:
            raise PlanError(f"step {number}: {step.dose_mg} mg is above the plan's {max_mg} mg")
        last = number == len(steps)
        if last and step.days is not None:
            raise PlanError("the last step must have no end (it holds until changed)")
        if not last and (step.days is None or step.days < 1):
            raise PlanError(f"step {number}: needs a number of days (at least 1)")


def position(steps: tuple[Step, ...], offset: int) -> Position:
    """The step and day within it for day ``offset`` (>= 0) of the plan."""
    if offset < 0:
        raise ValueError("offset before the plan's start")
    for index, step in enumerate(steps):
        if step.days is None or offset < step.days:
            return Position(index, offset)
        offset -= step.days
    raise AssertionError("unreachable: the last step has no end")


def titration_days(steps: tuple[Step, ...]) -> int:
    """Days until the last (open-ended) step begins."""
    return sum(step.days or 0 for step in steps)


def titration_weeks(steps: tuple[Step, ...]) -> int:
    return max(1, math.ceil(titration_days(steps) / 7))


def mg(value: Decimal) -> str:
    """1.50 -> "1.5", 3.0 -> "3"."""
    return format(value.normalize(), "f")


def describe_steps(steps: tuple[Step, ...]) -> str:
    parts = [
        f"{mg(s.dose_mg)} mg" + (f" for {s.days} days" if s.days is not None else "") for s in steps
    ]
    return ", then ".join(parts)


_mg = mg


def parse_plan(text: str) -> TitrationPlan:
    """Parse "1.5mg x14d, 3mg x14d, 4.5mg" (steps separated by commas, arrows or "then")."""
    steps = []
    for number, part in enumerate(re.split(r",|->|→|\bthen\b", text), start=1):
        match = _STEP.match(part.lower())
        if match is None:
            raise PlanError(f"step {number}: expected something like '1.5mg x14d', got {part!r}")
        try:
            dose = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
            raise PlanError(f"step {number}: {match.group(1)!r} is not a number") from None
        days = int(match.group(2)) if match.group(2) else None
        steps.append(Step(dose, days))
    return TitrationPlan(tuple(steps))
