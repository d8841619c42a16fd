"""Titration plans, regimens and the timing of nightly reminders. Plain values; never imports
telegram, never reads the clock (``now`` is always an argument).

    PlanError           a titration plan or reminder setting that cannot be followed
    └── PlanFileError   a plans YAML file that does not validate (names file, plan, field)

What is due comes from :func:`due` on a :class:`Regimen`; exactly-once delivery comes from the
store's unique (patient, local evening) rows and atomic claims, not from here.
"""

from reminders.plan import PlanError, Step, TitrationPlan, parse_plan
from reminders.plans import PlanBook, PlanFileError, load_plans
from reminders.regimen import (
    HOLD_DAYS,
    Action,
    DueEvening,
    Hold,
    Pause,
    PauseState,
    Regimen,
    Tonight,
    due,
)
from reminders.timing import (
    ReminderSetting,
    evening_ends_at,
    evening_of,
    next_reminder_at,
    reminder_at,
)
from reminders.zones import COMMON_ZONES, find_zone, suggest_zones

__all__ = [
    "COMMON_ZONES",
    "HOLD_DAYS",
    "Action",
    "DueEvening",
    "Hold",
    "Pause",
    "PauseState",
    "PlanBook",
    "PlanError",
    "PlanFileError",
    "Regimen",
    "ReminderSetting",
    "Step",
    "TitrationPlan",
    "Tonight",
    "due",
    "evening_ends_at",
    "evening_of",
    "find_zone",
    "load_plans",
    "next_reminder_at",
    "parse_plan",
    "reminder_at",
    "suggest_zones",
]
