"""Symptom check-ins: which evenings ask how the dose is going, and what can be answered.

Pure functions of the regimen and the evening; the store keeps what was asked and answered,
``bot/`` asks with buttons. Two kinds:

* ``side_effects``: a few days (``after_days``) into each step that raises the dose, "how is
  the new dose going?", with the side effects the clinic's presentation names and, for each one
  chosen, how bad it is;
* ``pain``: once a week (the last evening of each week of the plan), a 0-10 pain score.

The bot never suggests changing the dose: a severe side effect gets the clinic's contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from reminders.regimen import Regimen

CheckinKind = Literal["side_effects", "pain"]
Severity = Literal["mild", "bothering", "severe"]

DEFAULT_AFTER_DAYS: Final = 3
PAIN_EVERY_DAYS: Final = 7


@dataclass(frozen=True, slots=True)
class SideEffect:
    """One answer a patient can tap: ``code`` is its one-letter callback form."""

    item: str
    code: str
    label: str


SIDE_EFFECTS: Final = (
    SideEffect("vivid_dreams", "d", "Vivid dreams"),
    SideEffect("sleep", "s", "Trouble sleeping"),
    SideEffect("nausea", "n", "Nausea or bloating"),
    SideEffect("headache", "h", "Headache or dizziness"),
    SideEffect("mood", "m", "Irritability or mood change"),
)
NONE: Final = SideEffect("none", "x", "None of these")
BY_CODE: Final = {effect.code: effect for effect in (*SIDE_EFFECTS, NONE)}
BY_ITEM: Final = {effect.item: effect for effect in (*SIDE_EFFECTS, NONE)}

SEVERITIES: Final[tuple[Severity, ...]] = ("mild", "bothering", "severe")
SEVERITY_LABELS: Final[dict[str, str]] = {
    "mild": "Mild",
    "bothering": "Bothering me",
    "severe": "Severe",
}
PAIN_SCORES: Final = tuple(range(11))


@dataclass(frozen=True, slots=True)
class CheckinDue:
    """A check-in that an evening asks, with the step and dose it is about."""

    kind: CheckinKind
    evening: date
    step: int
    dose_mg: Decimal


def side_effects_day(regimen: Regimen, step: int, after_days: int) -> int | None:
    """The day within `step` (0-based) whose evening asks about side effects, or None when
    the step does not raise the dose. A step shorter than `after_days` is asked on its last
    day, so that no step-up goes unasked."""
    if step <= 0 or after_days < 1:
        return None
    current, previous = regimen.steps[step], regimen.steps[step - 1]
    if current.dose_mg <= previous.dose_mg:
        return None
    if current.days is not None:
        return min(after_days, current.days - 1)
    return after_days


def checkins_due(
    regimen: Regimen,
    evening: date,
    *,
    after_days: int = DEFAULT_AFTER_DAYS,
    pain_every_days: int = PAIN_EVERY_DAYS,
) -> list[CheckinDue]:
    """The check-ins `evening` asks (none before the plan starts). A held step is not a
    step-up yet: its days in step do not count until the hold is over."""
    night = regimen.tonight(evening)
    if night is None:
        return []
    out: list[CheckinDue] = []
    ask_on = side_effects_day(regimen, night.step, after_days)
    if ask_on is not None and night.day_in_step == ask_on and not night.held:
        out.append(CheckinDue("side_effects", evening, night.step, night.dose_mg))
    days = (evening - regimen.start).days
    if pain_every_days > 0 and days % pain_every_days == pain_every_days - 1:
        out.append(CheckinDue("pain", evening, night.step, night.dose_mg))
    return out
