"""Titration plans and the timing of nightly reminders. Plain values; never imports telegram.

    PlanError       a titration plan or reminder setting that cannot be followed

The scheduler (a later issue) asks these functions *what* is due and *when*; exactly-once
delivery comes from the store's unique (patient, local date) rows, not from here.
"""

from reminders.plan import PlanError, Step, TitrationPlan, parse_plan
from reminders.timing import ReminderSetting, evening_of, next_reminder_at

__all__ = [
    "PlanError",
    "ReminderSetting",
    "Step",
    "TitrationPlan",
    "evening_of",
    "next_reminder_at",
    "parse_plan",
]
