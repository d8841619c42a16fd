"""Titration plans and reminder timing: pure functions with fixed clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from reminders import PlanError, ReminderSetting, Step, TitrationPlan, evening_of, next_reminder_at
from reminders.plan import parse_plan

PLAN = parse_plan("1.5mg x14d, 3mg x14d, 4.5mg")
START = date(2026, 11, 1)


@pytest.mark.parametrize(
    ("day", "dose"),
    [
        (date(2026, 10, 31), None),
        (date(2026, 11, 1), Decimal("1.5")),
        (date(2026, 11, 14), Decimal("1.5")),
        (date(2026, 11, 15), Decimal("3")),
        (date(2026, 11, 28), Decimal("3")),
        (date(2026, 11, 29), Decimal("4.5")),
        (date(2027, 6, 1), Decimal("4.5")),
    ],
)
def test_dose_follows_the_plan(day: date, dose: Decimal | None) -> None:
    assert PLAN.dose_on(START, day) == dose


def test_describe_and_parse_round_trip() -> None:
    assert PLAN.describe() == "1.5 mg for 14 days, then 3 mg for 14 days, then 4.5 mg"
    assert parse_plan("1.5 mg for 14 days then 3mg x 7 days -> 4.5mg") == TitrationPlan(
        (Step(Decimal("1.5"), 14), Step(Decimal("3"), 7), Step(Decimal("4.5"), None))
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected something like"),
        ("50mg", "not a low dose"),
        ("0mg", "not a low dose"),
        ("1.5mg x14d, 3mg x14d", "last step must have no end"),
        ("1.5mg, 3mg", "needs a number of days"),
        ("1.5mg x0d, 3mg", "needs a number of days"),
        ("one tablet", "expected something like"),
    ],
)
def test_impossible_plans_are_refused(text: str, problem: str) -> None:
    with pytest.raises(PlanError, match=problem):
        parse_plan(text)


def test_evening_belongs_to_the_local_date_until_early_morning() -> None:
    zone = "Europe/London"
    assert evening_of(datetime(2026, 11, 26, 21, 0, tzinfo=UTC), zone) == date(2026, 11, 26)
    assert evening_of(datetime(2026, 11, 27, 1, 30, tzinfo=UTC), zone) == date(2026, 11, 26)
    assert evening_of(datetime(2026, 11, 27, 5, 0, tzinfo=UTC), zone) == date(2026, 11, 27)
    # In Auckland 21:00 UTC is already the next morning.
    assert evening_of(datetime(2026, 11, 26, 21, 0, tzinfo=UTC), "Pacific/Auckland") == date(
        2026, 11, 27
    )


def test_next_reminder_is_at_the_patients_local_time() -> None:
    setting = ReminderSetting(time(21, 30), "America/New_York")
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 07:00 in New York
    assert next_reminder_at(now, setting) == datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    # Exactly at the time: due now; a minute later: tomorrow.
    due = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    assert next_reminder_at(due, setting) == due
    later = datetime(2026, 11, 27, 2, 31, tzinfo=UTC)
    assert next_reminder_at(later, setting) == datetime(2026, 11, 28, 2, 30, tzinfo=UTC)


def test_daylight_saving_changes() -> None:
    # London springs forward at 01:00 UTC on 2027-03-28: 01:30 local does not exist that day.
    setting = ReminderSetting(time(1, 30), "Europe/London")
    now = datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    fired = next_reminder_at(now, setting)
    assert fired == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 BST, right after the gap
    # Autumn: 01:30 happens twice on 2026-10-25; the reminder fires once, at the first.
    setting = ReminderSetting(time(1, 30), "Europe/London")
    now = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert next_reminder_at(now, setting) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_bad_settings_fail_fast() -> None:
    with pytest.raises(PlanError, match="unknown time zone"):
        ReminderSetting(time(21, 0), "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="timezone-aware"):
        evening_of(datetime(2026, 11, 26, 21, 0), "Europe/London")
