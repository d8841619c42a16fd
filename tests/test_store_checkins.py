"""Symptom check-ins in the store, on SQLite and PostgreSQL: planned once per evening and
kind, claimed once (threads too), answers idempotent, forgotten with the chat."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from reminders import Regimen
from store import Store
from store.records import EveningRecord
from tests.test_store import run_in_threads
from tests.test_store_reminders import BOOK, GRACE, START

# The standard plan from 1 December: 3 mg from the 15th, so the 18th asks about side
# effects (3 days in); the 7th, 14th, 21st... ask the weekly pain score.
STEP_UP_PLUS_3 = date(2026, 12, 18)
AT_NINE = datetime(2026, 12, 18, 21, 0, tzinfo=UTC)  # 21:00 in London in winter


def enrol(store: Store, chats: list[int] | range) -> None:
    regimen = Regimen.from_plan(BOOK.plans["standard"], START, time(21), "Europe/London")
    for chat_id in chats:
        store.record_chat(chat_id, "private", START_UTC, started=True)
        store.save_regimen(chat_id, regimen, START_UTC)


START_UTC = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def sent_evenings(store: Store, now: datetime) -> list[EveningRecord]:
    store.materialise_due(now, GRACE)
    claimed = store.claim_reminders(now, GRACE)
    for evening in claimed:
        store.record_reminder(evening.id, "sent", now, message_id=10)
    return claimed


def plan(store: Store, evenings: list[EveningRecord], now: datetime) -> int:
    return store.plan_checkins(evenings, now, after_days=3, pain_every_days=7, grace=GRACE)


def test_a_step_up_plus_three_evening_plans_one_side_effects_checkin(store: Store) -> None:
    enrol(store, [1])
    evenings = sent_evenings(store, AT_NINE)
    assert [e.evening for e in evenings] == [STEP_UP_PLUS_3]
    assert plan(store, evenings, AT_NINE) == 1
    assert plan(store, evenings, AT_NINE) == 0  # planned twice: still one
    (checkin,) = store.checkins_for_chat(1)
    assert (checkin.kind, checkin.local_date, checkin.step, checkin.dose_mg) == (
        "side_effects",
        STEP_UP_PLUS_3,
        1,
        Decimal("3"),
    )
    assert checkin.delivery == "pending"
    (claimed,) = store.claim_checkins(AT_NINE)
    assert claimed.id == checkin.id and claimed.delivery == "sending"
    assert store.claim_checkins(AT_NINE + timedelta(minutes=1)) == []
    assert store.record_checkin(claimed.id, "sent", AT_NINE, message_id=55)
    assert not store.record_checkin(claimed.id, "sent", AT_NINE, message_id=56)
    stored = store.get_checkin(claimed.id)
    assert stored is not None and (stored.delivery, stored.message_id) == ("sent", 55)


def test_the_weekly_pain_score_and_an_ordinary_evening(store: Store) -> None:
    enrol(store, [1])
    week_end = datetime(2026, 12, 21, 21, 0, tzinfo=UTC)
    ordinary = datetime(2026, 12, 20, 21, 0, tzinfo=UTC)
    assert plan(store, sent_evenings(store, ordinary), ordinary) == 0
    assert plan(store, sent_evenings(store, week_end), week_end) == 1
    assert [c.kind for c in store.checkins_for_chat(1)] == ["pain"]


def test_check_ins_off_plans_none_and_on_again_plans(store: Store) -> None:
    enrol(store, [1, 2])
    store.set_preference(1, "checkins", "off", START_UTC)
    assert not store.checkins_enabled(1) and store.checkins_enabled(2)
    evenings = sent_evenings(store, AT_NINE)
    assert plan(store, evenings, AT_NINE) == 1
    assert [c.chat_id for c in store.checkins_for_chat(2)] == [2]
    assert store.checkins_for_chat(1) == []


def test_threads_claim_each_checkin_exactly_once(store: Store) -> None:
    enrol(store, range(1, 61))
    evenings = sent_evenings(store, AT_NINE)
    assert plan(store, evenings, AT_NINE) == 60

    def work(_: int) -> list[int]:
        mine: list[int] = []
        for _round in range(8):
            mine += [c.chat_id for c in store.claim_checkins(AT_NINE, limit=5)]
        return mine

    claimed = [chat for chats in run_in_threads(4, work) for chat in chats]
    assert sorted(claimed) == list(range(1, 61))


def test_a_crash_mid_send_is_unknown_and_never_sent_again(store: Store) -> None:
    enrol(store, [1, 2])
    evenings = sent_evenings(store, AT_NINE)
    plan(store, evenings, AT_NINE)
    (first,) = store.claim_checkins(AT_NINE, limit=1)
    assert store.recover_checkins(AT_NINE + timedelta(seconds=1)) == 1
    assert store.claim_checkins(AT_NINE + timedelta(minutes=1), limit=1) != [first]
    recovered = store.get_checkin(first.id)
    assert recovered is not None and recovered.delivery == "unknown"
    assert store.recover_checkins(AT_NINE + timedelta(hours=1)) == 1  # the second, claimed
    assert store.claim_checkins(AT_NINE + timedelta(hours=1)) == []  # neither comes again


def test_late_pending_checkins_are_not_sent(store: Store) -> None:
    enrol(store, [1])
    plan(store, sent_evenings(store, AT_NINE), AT_NINE)
    assert store.claim_checkins(datetime(2026, 12, 19, 4, 0, tzinfo=UTC)) == []
    (checkin,) = store.checkins_for_chat(1)
    assert checkin.delivery == "not_sent"


def test_a_checkin_a_crash_left_pending_is_never_sent_in_the_small_hours(store: Store) -> None:
    """Planned with the 21:00 reminder, then the process died before sending it: a restart
    at 23:30 or 02:00 finds it past the reminders' grace (2 hours) and records it not sent."""
    enrol(store, [1, 2])
    evenings = sent_evenings(store, AT_NINE)
    plan(store, evenings, AT_NINE)
    assert {c.expires_at for c in store.checkins_for_chat(1)} == {AT_NINE + GRACE}
    assert [c.chat_id for c in store.claim_checkins(AT_NINE, limit=1)] == [1]
    assert store.claim_checkins(datetime(2026, 12, 18, 23, 30, tzinfo=UTC)) == []
    (late,) = store.checkins_for_chat(2)
    assert late.delivery == "not_sent"
    # An evening whose reminder went out at the end of its grace plans nothing at all.
    enrol(store, [3])
    store.materialise_due(AT_NINE + GRACE, GRACE)
    tonight = [e for e in store.claim_reminders(AT_NINE + GRACE, GRACE) if e.chat_id == 3]
    assert tonight and plan(store, tonight, AT_NINE + GRACE) == 0


def test_an_evenings_two_checkins_are_claimed_together(store: Store) -> None:
    """A step-up's side effects and the weekly pain score on one evening: whatever the
    batch size, one claim takes both, so that they go out as one message."""
    enrol(store, [1, 2])
    sunday = datetime(2026, 12, 21, 21, 0, tzinfo=UTC)  # a pain evening
    evenings = sent_evenings(store, sunday)
    # Move the step-up check-in onto the pain evening: 3 mg from the 15th, asked 6 days in.
    assert store.plan_checkins(evenings, sunday, after_days=6, pain_every_days=7, grace=GRACE) == 4
    first = store.claim_checkins(sunday, limit=1)
    assert sorted((c.chat_id, c.kind) for c in first) == [(1, "pain"), (1, "side_effects")]
    second = store.claim_checkins(sunday, limit=1)
    assert sorted((c.chat_id, c.kind) for c in second) == [(2, "pain"), (2, "side_effects")]
    assert store.claim_checkins(sunday) == []


def test_answers_are_idempotent_checked_and_listed(store: Store) -> None:
    enrol(store, [1, 2])
    plan(store, sent_evenings(store, AT_NINE), AT_NINE)
    (checkin,) = store.checkins_for_chat(1)
    first = store.record_checkin_answer(1, checkin.id, "nausea", AT_NINE, severity="mild")
    assert first is not None and first.recorded and not first.changed
    same = store.record_checkin_answer(1, checkin.id, "nausea", AT_NINE, severity="mild")
    assert same is not None and not same.recorded and not same.changed
    # Another severity corrects the answer in place: still one row.
    fixed = store.record_checkin_answer(1, checkin.id, "nausea", AT_NINE, severity="bothering")
    assert fixed is not None and fixed.recorded and fixed.changed
    assert fixed.answer.id == first.answer.id and fixed.answer.severity == "bothering"
    later = AT_NINE + timedelta(minutes=2)
    severe = store.record_checkin_answer(
        1, checkin.id, "headache", later, severity="severe", user_id=77
    )
    assert severe is not None and severe.recorded
    # The severe answer brought its event, once, in the same transaction: tapped again, or
    # changed to mild and back to severe, it is still one event for the clinic.
    assert store.record_checkin_answer(1, checkin.id, "headache", later, severity="severe")
    assert store.record_checkin_answer(1, checkin.id, "headache", later, severity="mild")
    back = store.record_checkin_answer(1, checkin.id, "headache", later, severity="severe")
    assert back is not None and back.changed
    (event,) = store.events_for_chat(1)
    assert (event.kind, event.ref, event.user_id) == (
        "severe-side-effect",
        f"{checkin.id}:headache",
        77,
    )
    # Changed to severe after a milder first answer: the event comes with the change.
    store.record_checkin_answer(1, checkin.id, "nausea", later, severity="severe")
    assert [e.ref for e in store.events_for_chat(1)] == [
        f"{checkin.id}:headache",
        f"{checkin.id}:nausea",
    ]
    # Forged or mismatched taps record nothing.
    assert store.record_checkin_answer(2, checkin.id, "sleep", AT_NINE, severity="mild") is None
    assert store.record_checkin_answer(1, checkin.id, "pain", AT_NINE, score=4) is None
    assert store.record_checkin_answer(1, checkin.id, "sleep", AT_NINE) is None
    assert store.record_checkin_answer(1, checkin.id, "bogus", AT_NINE) is None
    assert store.record_checkin_answer(1, 999_999, "none", AT_NINE) is None
    answers = store.answers_for_checkin(checkin.id)
    assert [(a.item, a.severity) for a in answers] == [("nausea", "severe"), ("headache", "severe")]
    between = store.checkin_answers_between(later, later + timedelta(minutes=1))
    assert [(a.chat_id, a.item, a.local_date, a.kind) for a in between] == [
        (1, "nausea", STEP_UP_PLUS_3, "side_effects"),
        (1, "headache", STEP_UP_PLUS_3, "side_effects"),
    ]
    assert len(store.checkin_answers_for_chat(1)) == 2
    assert store.checkin_answers_for_chat(1, since=STEP_UP_PLUS_3 + timedelta(days=1)) == []


def test_taps_at_once_make_one_row_and_one_severe_event(store: Store) -> None:
    """Four threads tapping and changing the same item together (a double tap, a correction
    on a second phone): one answer row, one event for the clinic."""
    enrol(store, [1])
    plan(store, sent_evenings(store, AT_NINE), AT_NINE)
    (checkin,) = store.checkins_for_chat(1)

    def work(i: int) -> int:
        changed = 0
        for n in range(6):
            severity = "severe" if (i + n) % 2 else "mild"
            tap = store.record_checkin_answer(1, checkin.id, "mood", AT_NINE, severity=severity)
            assert tap is not None
            changed += tap.changed
        return changed

    assert sum(run_in_threads(4, work)) > 0
    assert [a.item for a in store.answers_for_checkin(checkin.id)] == ["mood"]
    assert [e.ref for e in store.events_for_chat(1)] == [f"{checkin.id}:mood"]


def test_pain_scores_are_bounded(store: Store) -> None:
    enrol(store, [1])
    week_end = datetime(2026, 12, 21, 21, 0, tzinfo=UTC)
    plan(store, sent_evenings(store, week_end), week_end)
    (checkin,) = store.checkins_for_chat(1)
    assert store.record_checkin_answer(1, checkin.id, "pain", week_end, score=11) is None
    assert store.record_checkin_answer(1, checkin.id, "none", week_end) is None
    tap = store.record_checkin_answer(1, checkin.id, "pain", week_end, score=6)
    assert tap is not None and tap.recorded and tap.answer.score == 6


def test_forget_removes_every_checkin_row_and_nothing_else(store: Store) -> None:
    enrol(store, [1, 2])
    plan(store, sent_evenings(store, AT_NINE), AT_NINE)
    for chat_id in (1, 2):
        (checkin,) = store.checkins_for_chat(chat_id)
        store.record_checkin_answer(chat_id, checkin.id, "mood", AT_NINE, severity="severe")
    assert len(store.events_for_chat(1)) == 1
    before = store.rows_about_chat(2)
    store.forget_chat(1)
    assert store.rows_about_chat(1) == 0
    assert store.checkins_for_chat(1) == [] and store.checkin_answers_for_chat(1) == []
    assert store.rows_about_chat(2) == before
    assert len(store.checkin_answers_for_chat(2)) == 1
