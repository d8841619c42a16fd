"""A prescribed titration plan: which dose on which day. The bot follows it, never changes it."""

from __future__ import annotations

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
class TitrationPlan:
    """Steps in order, e.g. 1.5 mg for 14 days, 3 mg for 14 days, then 4.5 mg."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise PlanError("a plan needs at least one step")
        for number, step in enumerate(self.steps, start=1):
            if not Decimal(0) < step.dose_mg <= MAX_LDN_MG:
                raise PlanError(f"step {number}: {step.dose_mg} mg is not a low dose (0-5 mg)")
            last = number == len(self.steps)
            if last and step.days is not None:
                raise PlanError("the last step must have no end (it holds until changed)")
            if not last and (step.days is None or step.days < 1):
                raise PlanError(f"step {number}: needs a number of days (at least 1)")

    def dose_on(self, start: date, day: date) -> Decimal | None:
        """The prescribed dose on `day` of a plan that began on `start`; None before it."""
        offset = (day - start).days
        if offset < 0:
            return None
        for step in self.steps:
            if step.days is None or offset < step.days:
                return step.dose_mg
            offset -= step.days
        raise AssertionError("unreachable: the last step has no end")

    def describe(self) -> str:
        parts = [
            f"{_mg(s.dose_mg)} mg" + (f" for {s.days} days" if s.days is not None else "")
            for s in self.steps
        ]
        return ", then ".join(parts)


def _mg(value: Decimal) -> str:
    return format(value.normalize(), "f")


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
