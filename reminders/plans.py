"""The clinic's named titration plans, loaded from YAML and validated on load.

Every error names the file, the plan and the field, e.g.
``plans.yaml, plan 'gentle', field 'steps[3].dose_mg': 6 mg is not a low dose (0-5 mg)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from reminders.plan import MAX_LDN_MG, PlanError, Step, TitrationPlan, check_steps

DEFAULT_PLANS = Path(__file__).resolve().parent / "data" / "plans.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_PLAN_KEYS = {"name", "title", "description", "max_mg", "steps"}
_STEP_KEYS = {"dose_mg", "days"}


class PlanFileError(PlanError):
    """A plans file that cannot be used; the message names file, plan and field."""

    def __init__(self, file: str, plan: str | None, field: str | None, problem: str) -> None:
        where = file
        if plan is not None:
            where += f", plan {plan!r}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class PlanBook:
    """The plans by name, in file order."""

    path: Path
    plans: Mapping[str, TitrationPlan]

    def get(self, name: str) -> TitrationPlan | None:
        return self.plans.get(name)

    def names(self) -> list[str]:
        return list(self.plans)


def load_plans(path: Path | str | None = None) -> PlanBook:
    """Load and validate the plans file (default: the packaged ``reminders/data/plans.yaml``)."""
    file = Path(path) if path is not None else DEFAULT_PLANS
    where = file.name
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanFileError(str(file), None, None, "file not found") from None
    except OSError as exc:
        raise PlanFileError(str(file), None, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise PlanFileError(where, None, None, f"not valid YAML{line}") from None
    if not isinstance(raw, dict) or set(raw) != {"plans"} or not isinstance(raw["plans"], list):
        raise PlanFileError(where, None, None, "expected one key, 'plans', holding a list")
    plans: dict[str, TitrationPlan] = {}
    for index, item in enumerate(raw["plans"], start=1):
        plan = _plan(where, index, item)
        if plan.name in plans:
            raise PlanFileError(where, plan.name, "name", "defined twice")
        plans[plan.name] = plan
    if not plans:
        raise PlanFileError(where, None, None, "no plans defined")
    return PlanBook(file, plans)


def _plan(where: str, index: int, item: Any) -> TitrationPlan:
    if not isinstance(item, dict):
        raise PlanFileError(where, f"#{index}", None, "each plan must be a mapping")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        label = name if isinstance(name, str) else f"#{index}"
        raise PlanFileError(
            where, label, "name", "must be lowercase letters, digits or '-' (up to 32)"
        )
    unknown = set(item) - _PLAN_KEYS
    if unknown:
        raise PlanFileError(where, name, sorted(unknown)[0], "unknown field")
    title = item.get("title", name.title())
    if not isinstance(title, str) or not title.strip():
        raise PlanFileError(where, name, "title", "must be a non-empty string")
    description = item.get("description", "")
    if not isinstance(description, str):
        raise PlanFileError(where, name, "description", "must be a string")
    max_mg = _decimal(where, name, "max_mg", item.get("max_mg", MAX_LDN_MG))
    if not Decimal(0) < max_mg <= MAX_LDN_MG:
        raise PlanFileError(where, name, "max_mg", f"{max_mg} mg is not a low dose (0-5 mg)")
    raw_steps = item.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise PlanFileError(where, name, "steps", "must be a non-empty list")
    steps = tuple(
        _step(where, name, number, raw, last=number == len(raw_steps) - 1, max_mg=max_mg)
        for number, raw in enumerate(raw_steps)
    )
    try:
        check_steps(steps, max_mg)
    except PlanError as exc:  # pragma: no cover - _step checks each field first
        raise PlanFileError(where, name, "steps", str(exc)) from None
    return TitrationPlan(steps, name=name, title=title.strip(), max_mg=max_mg)


def _step(where: str, plan: str, number: int, raw: Any, *, last: bool, max_mg: Decimal) -> Step:
    field = f"steps[{number + 1}]"
    if not isinstance(raw, dict):
        raise PlanFileError(where, plan, field, "each step must be a mapping")
    unknown = set(raw) - _STEP_KEYS
    if unknown:
        raise PlanFileError(where, plan, f"{field}.{sorted(unknown)[0]}", "unknown field")
    if "dose_mg" not in raw:
        raise PlanFileError(where, plan, f"{field}.dose_mg", "missing")
    dose = _decimal(where, plan, f"{field}.dose_mg", raw["dose_mg"])
    if not Decimal(0) < dose <= MAX_LDN_MG:
        raise PlanFileError(
            where, plan, f"{field}.dose_mg", f"{dose} mg is not a low dose (0-5 mg)"
        )
    if dose > max_mg:
        raise PlanFileError(
            where, plan, f"{field}.dose_mg", f"{dose} mg is above the plan's max_mg {max_mg}"
        )
    days = raw.get("days")
    if last:
        if days is not None:
            raise PlanFileError(
                where, plan, f"{field}.days", "the last step has no days: it holds until changed"
            )
        return Step(dose, None)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise PlanFileError(where, plan, f"{field}.days", "must be a whole number, at least 1")
    return Step(dose, days)


def _decimal(where: str, plan: str, field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PlanFileError(where, plan, field, "must be a number of mg")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise PlanFileError(where, plan, field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise PlanFileError(where, plan, field, f"{value!r} is not a number")
    return number
