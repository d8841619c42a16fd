"""Plans from YAML, regimens, holds and what is due: pure functions with fixed clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminders import (
    Action,
    Hold,
    Pause,
    PauseState,
    PlanError,
    PlanFileError,
    Regimen,
    Step,
    due,
    evening_of,
    find_zone,
    load_plans,
    reminder_at,
    suggest_zones,
)
from reminders.plan import MAX_LDN_MG, titration_days

BOOK = load_plans()
START = date(2026, 12, 1)


def regimen(name: str = "standard", zone: str = "Europe/London", at: time = time(21)) -> Regimen:
    plan = BOOK.get(name)
    assert plan is not None
    return Regimen.from_plan(plan, START, at, zone)


# -- the plans file ------------------------------------------------------------------------


def test_packaged_plans() -> None:
    assert BOOK.names() == ["standard", "gentle"]
    standard = BOOK.get("standard")
    assert standard is not None and standard.describe() == (
        "1.5 mg for 14 days, then 3 mg for 14 days, then 4.5 mg"
    )
    gentle = BOOK.get("gentle")
    assert gentle is not None
    doses = [s.dose_mg for s in gentle.steps]
    assert doses[0] == Decimal("0.5") and doses[-1] == Decimal("4.5")
    assert all(b - a == Decimal("0.5") for a, b in pairwise(doses))
    assert all(s.days == 7 for s in gentle.steps[:-1])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("plans: [{name: x, steps: [{dose_mg: 6}]}]", "plan 'x', field 'steps[1].dose_mg'"),
        ("plans: [{name: x, steps: [{dose_mg: 0}]}]", "not a low dose"),
        (
            "plans: [{name: x, max_mg: 3, steps: [{dose_mg: 1, days: 3}, {dose_mg: 4}]}]",
            "field 'steps[2].dose_mg': 4 mg is above the plan's max_mg 3",
        ),
        ("plans: [{name: x, steps: [{dose_mg: 1, days: 0}, {dose_mg: 2}]}]", "steps[1].days"),
        ("plans: [{name: x, steps: [{dose_mg: 1}, {dose_mg: 2}]}]", "steps[1].days"),
        ("plans: [{name: x, steps: [{dose_mg: 1, days: 5}]}]", "the last step has no days"),
        ("plans: [{name: x, steps: [{dose_mg: one}]}]", "not a number"),
        ("plans: [{name: x, steps: [{dose_mg: 1, colour: red}]}]", "steps[1].colour"),
        ("plans: [{name: X Y, steps: [{dose_mg: 1}]}]", "field 'name'"),
        ("plans: [{name: x, steps: []}]", "field 'steps'"),
        ("plans: [{name: x, max_mg: 9, steps: [{dose_mg: 1}]}]", "field 'max_mg'"),
        (
            "plans: [{name: x, steps: [{dose_mg: 1}]}, {name: x, steps: [{dose_mg: 1}]}]",
            "defined twice",
        ),
        ("plan: []", "expected one key"),
        ("plans: [", "not valid YAML"),
    ],
)
def test_bad_plans_name_file_plan_and_field(tmp_path: Path, body: str, message: str) -> None:
    file = tmp_path / "plans.yaml"
    file.write_text(body, encoding="utf-8")
    with pytest.raises(PlanFileError) as info:
        load_plans(file)
    assert str(info.value).startswith("plans.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_plans_file(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="file not found"):
        load_plans(tmp_path / "none.yaml")


# -- tonight -------------------------------------------------------------------------------


def test_tonight_names_week_step_and_announces_step_ups() -> None:
    r = regimen()
    first = r.tonight(START)
    assert first is not None
    assert (first.label, first.dose_mg, first.step_up) == ("Week 1 of 4", Decimal("1.5"), False)
    assert r.tonight(START - timedelta(days=1)) is None
    up = r.tonight(START + timedelta(days=14))
    assert up is not None and up.step_up and up.dose_mg == Decimal("3")
    assert up.label == "Week 3 of 4" and up.previous_mg == Decimal("1.5")
    day_after = r.tonight(START + timedelta(days=15))
    assert day_after is not None and not day_after.step_up
    last = r.tonight(START + timedelta(days=28))
    assert last is not None and last.step_up and last.maintenance and last.label == "Maintenance"


def test_a_hold_keeps_the_step_seven_days_and_moves_the_rest() -> None:
    r = regimen()
    step_up = START + timedelta(days=14)
    held = r.with_hold(step_up)
    assert held.with_hold(step_up) is held  # a double tap holds once
    for offset in range(7):
        night = held.tonight(step_up + timedelta(days=offset))
        assert night is not None and night.dose_mg == Decimal("1.5") and night.held
        assert not night.step_up
    after = held.tonight(step_up + timedelta(days=7))
    assert after is not None and after.dose_mg == Decimal("3") and after.step_up
    # The original regimen (and so the evenings already recorded) is untouched.
    assert r.tonight(step_up) is not None and r.holds == ()


def test_a_later_edit_of_the_plan_does_not_change_a_regimen() -> None:
    r = regimen()
    copied = Regimen.parse_steps(r.steps_json())
    assert copied == r.steps
    assert Regimen.parse_holds(r.with_hold(START).holds_json()) == (Hold(START, 7),)


steps_strategy = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=50).map(lambda tenths: Decimal(tenths) / 10),
        st.integers(min_value=1, max_value=30),
    ),
    min_size=0,
    max_size=8,
).flatmap(
    lambda finite: st.integers(min_value=1, max_value=50).map(
        lambda last: (
            *(Step(d, n) for d, n in finite),
            Step(Decimal(last) / 10, None),
        )
    )
)
holds_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=14)),
    max_size=4,
)


def _regimen(steps: tuple[Step, ...], holds: list[tuple[int, int]]) -> Regimen:
    top = max(s.dose_mg for s in steps)
    r = Regimen("p", steps, START, time(21), "Europe/London", max_mg=top)
    for offset, days in sorted(holds):
        r = r.with_hold(START + timedelta(days=offset), days)
    return r


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy, holds=holds_strategy)
def test_doses_stay_within_the_plan_and_steps_come_in_order(
    steps: tuple[Step, ...], holds: list[tuple[int, int]]
) -> None:
    r = _regimen(steps, holds)
    horizon = titration_days(steps) + sum(d for _, d in holds) + 10
    last_step = 0
    for offset in range(horizon):
        night = r.tonight(START + timedelta(days=offset))
        assert night is not None
        assert night.dose_mg <= r.max_mg <= MAX_LDN_MG
        assert night.dose_mg == steps[night.step].dose_mg
        assert night.step in (last_step, last_step + 1)  # never skips or goes back a step
        last_step = night.step
    assert last_step == len(steps) - 1  # and reaches the last one


@settings(max_examples=150, deadline=None)
@given(steps=steps_strategy, holds=holds_strategy)
def test_holds_shift_later_steps_by_their_days(
    steps: tuple[Step, ...], holds: list[tuple[int, int]]
) -> None:
    plain = _regimen(steps, [])
    held = _regimen(steps, holds)
    changes_plain = plain.step_changes()
    changes_held = held.step_changes()
    assert [n.step for _, n in changes_plain] == [n.step for _, n in changes_held]
    for (day_plain, _), (day_held, _) in zip(changes_plain, changes_held, strict=True):
        shift = (day_held - day_plain).days
        # Exactly the held days that began before the step would have started.
        assert 0 <= shift <= sum(d for _, d in holds)
    # A hold that starts after the plan reached maintenance moves nothing.
    late = plain.with_hold(START + timedelta(days=titration_days(steps) + 1), 7)
    assert late.step_changes() == changes_plain


# -- evenings and DST ----------------------------------------------------------------------


def test_a_dose_at_one_in_the_morning_belongs_to_the_evening_before() -> None:
    zone = "America/New_York"
    one_am = datetime(2026, 12, 2, 1, 0, tzinfo=ZoneInfo(zone))
    assert evening_of(one_am, zone) == date(2026, 12, 1)
    assert evening_of(one_am.replace(hour=4), zone) == date(2026, 12, 2)


ZONE_CASES = [
    # (zone, a day in winter, a day in summer): the same wall clock in both.
    ("America/New_York", date(2027, 3, 13), date(2027, 3, 15)),
    ("Europe/London", date(2027, 3, 27), date(2027, 3, 29)),
    ("Australia/Lord_Howe", date(2026, 10, 3), date(2026, 10, 5)),
    ("America/New_York", date(2026, 10, 31), date(2026, 11, 2)),
    ("Europe/London", date(2026, 10, 24), date(2026, 10, 26)),
    ("Australia/Lord_Howe", date(2027, 4, 3), date(2027, 4, 5)),
]


@pytest.mark.parametrize(("zone", "before", "after"), ZONE_CASES)
def test_the_same_local_time_across_daylight_saving(zone: str, before: date, after: date) -> None:
    r = Regimen.from_plan(BOOK.plans["standard"], before, time(21, 30), zone)
    local = ZoneInfo(zone)
    instants = [r.due_at(before + timedelta(days=d)) for d in range((after - before).days + 1)]
    assert [i.astimezone(local).time() for i in instants] == [time(21, 30)] * len(instants)
    offsets = {i.astimezone(local).utcoffset() for i in instants}
    assert len(offsets) == 2  # the change happened in between
    if zone == "Australia/Lord_Howe":
        hi, lo = sorted(o for o in offsets if o is not None)[::-1]
        assert hi - lo == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected_utc"),
    [
        # Spring forward: 02:30 does not exist; the reminder comes right after the gap.
        ("America/New_York", date(2027, 3, 14), time(2, 30), datetime(2027, 3, 14, 7, 0)),
        ("Europe/London", date(2027, 3, 28), time(1, 30), datetime(2027, 3, 28, 1, 0)),
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), datetime(2026, 10, 3, 15, 30)),
        # Fall back: 01:30 happens twice; the reminder comes once, at the first.
        ("America/New_York", date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30)),
        ("Europe/London", date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30)),
        ("Australia/Lord_Howe", date(2027, 4, 4), time(1, 45), datetime(2027, 4, 3, 14, 45)),
    ],
)
def test_non_existent_and_repeated_times(
    zone: str, day: date, at: time, expected_utc: datetime
) -> None:
    # These times are before 04:00, so they belong to the evening before `day`.
    evening = day - timedelta(days=1)
    assert reminder_at(evening, at, ZoneInfo(zone)) == expected_utc.replace(tzinfo=UTC)
    r = Regimen.from_plan(BOOK.plans["gentle"], evening - timedelta(days=3), at, zone)
    now = expected_utc.replace(tzinfo=UTC) + timedelta(hours=3)
    found, _ = due(r, evening - timedelta(days=1), now, grace=timedelta(hours=2))
    assert [e.evening for e in found] == [evening - timedelta(days=1), evening]  # never twice
    assert found[-1].due_at == expected_utc.replace(tzinfo=UTC)


# -- what is due ---------------------------------------------------------------------------


def test_due_sends_within_grace_and_records_the_rest_as_late() -> None:
    r = regimen()
    grace = timedelta(hours=2)
    nine = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
    assert due(r, START, nine - timedelta(seconds=1), grace=grace) == ([], START)
    found, following = due(r, START, nine, grace=grace)
    assert [(e.evening, e.action) for e in found] == [(START, Action.SEND)]
    assert following == START + timedelta(days=1)
    # Down for two days: only tonight's, if within grace; the others are late.
    now = nine + timedelta(days=2, hours=1)
    found, _ = due(r, START, now, grace=grace)
    assert [e.action for e in found] == [Action.LATE, Action.LATE, Action.SEND]
    found, _ = due(r, START, now + timedelta(hours=1, seconds=1), grace=grace)
    assert [e.action for e in found][-1] is Action.LATE


def test_due_respects_pause_and_stop() -> None:
    r = regimen()
    now = datetime(2026, 12, 4, 21, 5, tzinfo=UTC)
    pause = PauseState(Pause.PAUSED, until=START + timedelta(days=3))
    found, _ = due(r, START + timedelta(days=2), now, grace=timedelta(hours=2), pause=pause)
    assert [e.action for e in found] == [Action.PAUSED, Action.SEND]
    stopped = PauseState(Pause.STOPPED)
    found, _ = due(r, START + timedelta(days=3), now, grace=timedelta(hours=2), pause=stopped)
    assert [e.action for e in found] == [Action.PAUSED]


def test_first_evening_is_the_next_reminder_not_yet_past() -> None:
    r = regimen()
    assert r.first_evening(datetime(2026, 11, 20, 12, tzinfo=UTC)) == START
    assert r.first_evening(datetime(2026, 12, 1, 20, tzinfo=UTC)) == START
    assert r.first_evening(datetime(2026, 12, 1, 21, 1, tzinfo=UTC)) == START + timedelta(days=1)
    late = regimen(at=time(0, 30))  # 00:30 belongs to the evening before
    assert late.first_evening(datetime(2026, 12, 1, 23, tzinfo=UTC)) == START


def test_regimen_refuses_what_cannot_be_followed() -> None:
    with pytest.raises(PlanError, match="unknown time zone"):
        regimen(zone="Mars/Olympus_Mons")
    with pytest.raises(PlanError, match="above the plan"):
        Regimen("x", (Step(Decimal(4), None),), START, time(21), "UTC", max_mg=Decimal(3))


def test_time_zone_lookup() -> None:
    assert find_zone("Europe/London") == "Europe/London"
    assert find_zone("europe/london") == "Europe/London"
    assert find_zone("New York") == "America/New_York"
    assert find_zone("lord howe") == "Australia/Lord_Howe"
    assert find_zone("Germany") == "Europe/Berlin"
    assert find_zone("Atlantis") is None
    assert suggest_zones("Europe/Londn")[0] == "Europe/London"
    assert "America/New_York" in suggest_zones("Amerca/New_Yrok")
