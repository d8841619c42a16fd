"""`ldn-bot plan list` and `ldn-bot plan show NAME --start DATE`: the clinic's plans as text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from bot.config import Config, ConfigError
from reminders import Regimen, load_plans
from reminders.plan import mg, titration_days


def plan_list(config: Config, out: TextIO) -> int:
    book = load_plans(config.reminders.plans)
    out.write(f"Titration plans in {book.path}:\n")
    for name, plan in book.plans.items():
        out.write(f"  {name:<12} {plan.title}: {plan.describe()} (max {mg(plan.max_mg)} mg)\n")
    return 0


def plan_show(
    config: Config, name: str, start_text: str | None, days: int | None, out: TextIO
) -> int:
    book = load_plans(config.reminders.plans)
    plan = book.get(name)
    if plan is None:
        raise ConfigError(f"no plan named {name!r}; plans: {', '.join(book.names())}")
    try:
        start = date.fromisoformat(start_text) if start_text else datetime.now(UTC).date()
    except ValueError:
        raise ConfigError(f"--start must be a date as YYYY-MM-DD, got {start_text!r}") from None
    regimen = Regimen.from_plan(plan, start, time(21), "UTC")
    total = days if days is not None else titration_days(plan.steps) + 1
    if total < 1:
        raise ConfigError("--days must be at least 1")
    out.write(f"{plan.title} ({name}): {plan.describe()}\n")
    out.write(f"Day-by-day from {start:%a %Y-%m-%d}:\n")
    for offset in range(total):
        evening = start + timedelta(days=offset)
        night = regimen.tonight(evening)
        assert night is not None
        mark = "  step up" if night.step_up else ""
        out.write(
            f"  day {offset + 1:>3}  {evening:%a %Y-%m-%d}  {mg(night.dose_mg):>4} mg  "
            f"{night.label}{mark}\n"
        )
    return 0
