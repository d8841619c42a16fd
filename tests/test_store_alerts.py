"""Staff alerts, relays, reload requests and reports in the store, on SQLite and PostgreSQL.

Fixtures come from tests/storefixtures.py (through tests/test_store.py's conftest import).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from reminders import Regimen, load_plans
from reminders.adherence import EveningMark, adherence, completes_missed_run, missed_run
from store import Store
from store.alerts import MISSED_3, retry_delay
from store.reports import stats_report
from tests.reportseed import insert_evenings, seed_evenings
from tests.test_store import run_in_threads

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
START = date(2026, 12, 1)
BOOK = load_plans()


def evening_row(
    chat_id: int, evening: date, delivery: str, outcome: str = "none"
) -> dict[str, Any]:
    due = datetime.combine(evening, time(21), UTC)
    return {
        "chat_id": chat_id,
        "evening": evening,
        "dose_mg": "1.5",
        "previous_mg": None,
        "step": 0,
        "step_up": False,
        "label": "Week 1 of 4",
        "due_at": due,
        "ends_at": due + timedelta(hours=7),
        "delivery": delivery,
        "outcome": outcome,
    }


# -- missed runs -----------------------------------------------------------------------------


def test_missed_run_passes_over_evenings_never_delivered() -> None:
    day = [date(2026, 12, d) for d in range(1, 8)]
    marks = [
        EveningMark(day[0], "sent", "missed"),
        EveningMark(day[1], "sent", "taken"),
        EveningMark(day[2], "sent", "missed"),
        EveningMark(day[3], "not_sent", "none"),  # an outage: passed over
        EveningMark(day[4], "sent", "missed"),
        EveningMark(day[5], "unknown", "none"),  # may have arrived, unanswered: passed over
        EveningMark(day[6], "sent", "missed"),
    ]
    assert missed_run(marks, day[6]) == 3
    assert completes_missed_run(marks, day[6])
    assert missed_run(marks, day[4]) == 2
    assert missed_run(marks, day[1]) == 0
    assert not completes_missed_run([*marks, EveningMark(day[6] + timedelta(1), "sent", "missed")],
                                    day[6] + timedelta(1))  # fmt: skip
    assert adherence(m.outcome for m in marks).ratio == 1 / 5


def test_close_missed_records_the_third_missed_evening_once(store: Store) -> None:
    rows = [
        evening_row(1, date(2026, 12, 1), "sent", "taken"),
        evening_row(1, date(2026, 12, 2), "sent"),
        evening_row(1, date(2026, 12, 3), "not_sent"),  # the bot was down
        evening_row(1, date(2026, 12, 4), "sent"),
        evening_row(1, date(2026, 12, 5), "sent"),
        evening_row(1, date(2026, 12, 6), "sent"),  # a fourth: no second event
        # chat 2: only two missed around a skipped evening
        evening_row(2, date(2026, 12, 2), "sent"),
        evening_row(2, date(2026, 12, 3), "sent", "skipped"),
        evening_row(2, date(2026, 12, 4), "sent"),
    ]
    insert_evenings(store, rows)
    assert store.close_missed(NOW) == 6
    events = store.events_for_chat(1, [MISSED_3])
    assert [(e.kind, e.ref) for e in events] == [(MISSED_3, "2026-12-05")]
    assert store.events_for_chat(2, [MISSED_3]) == []
    assert store.close_missed(NOW + timedelta(days=1)) == 0
    assert len(store.events_for_chat(1, [MISSED_3])) == 1


def test_missed_evenings_closed_one_tick_at_a_time_alert_on_the_third(store: Store) -> None:
    for offset in range(3):
        evening = date(2026, 12, 1) + timedelta(days=offset)
        insert_evenings(store, [evening_row(5, evening, "sent")])
        store.close_missed(datetime.combine(evening + timedelta(days=1), time(6), UTC))
        kinds = [e.ref for e in store.events_for_chat(5, [MISSED_3])]
        assert kinds == ([] if offset < 2 else ["2026-12-03"])


# -- alerts ----------------------------------------------------------------------------------


def test_an_event_gets_one_alert_even_from_many_threads(store: Store) -> None:
    event_id = store.record_event(7, "hold", NOW, ref="2026-12-10:1")
    (event,) = store.events_without_alert(["hold"], NOW - timedelta(days=1))
    assert event.id == event_id

    def work(_: int) -> int:
        made = store.create_alert(event, NOW, share=True, recipients=[100, 200, 100])
        return 1 if made is not None else 0

    assert sum(run_in_threads(4, work)) == 1
    assert store.events_without_alert(["hold"], NOW - timedelta(days=1)) == []
    (alert,) = store.open_alerts()
    assert (alert.chat_id, alert.kind, alert.state) == (7, "hold", "open")
    assert [d[:2] for d in store.alert_deliveries(alert.id)] == [(100, "pending"), (200, "pending")]


def test_withheld_alerts_are_never_shown_or_sent(store: Store) -> None:
    store.record_event(8, "safety-answer", NOW, ref="self-harm")
    (event,) = store.events_without_alert(["safety-answer"], NOW - timedelta(days=1))
    alert = store.create_alert(event, NOW, share=False, recipients=[100])
    assert alert is not None and alert.state == "withheld"
    assert store.open_alerts() == [] and store.open_alert_counts() == {}
    assert store.claim_alert_deliveries(NOW) == []
    assert store.acknowledge_alert(alert.id, 100, NOW) is None
    assert store.events_without_alert(["safety-answer"], NOW - timedelta(days=1)) == []


def test_deliveries_are_claimed_once_retried_and_recovered(store: Store) -> None:
    store.record_event(9, "hold", NOW)
    (event,) = store.events_without_alert(["hold"], NOW - timedelta(days=1))
    alert = store.create_alert(event, NOW, share=True, recipients=[100, 200])
    assert alert is not None
    first = store.claim_alert_deliveries(NOW)
    assert sorted(d.staff_id for d in first) == [100, 200]
    assert store.claim_alert_deliveries(NOW) == []  # claimed: nobody else gets them
    by_staff = {d.staff_id: d for d in first}
    store.record_alert_delivery(by_staff[100].id, "sent", NOW, message_id=55)
    store.record_alert_delivery(by_staff[200].id, "not_sent", NOW)
    later = NOW + retry_delay(1)
    assert store.claim_alert_deliveries(later - timedelta(seconds=1)) == []
    (again,) = store.claim_alert_deliveries(later)
    assert again.staff_id == 200 and again.attempts == 1
    # The process died mid-send: after the lease the delivery is claimed again.
    (recovered,) = store.claim_alert_deliveries(later + timedelta(minutes=6))
    assert recovered.staff_id == 200
    assert (100, "sent", 55) in store.alert_deliveries(alert.id)


def test_acknowledge_is_once_and_says_who(store: Store) -> None:
    store.record_event(10, "missed-3", NOW)
    (event,) = store.events_without_alert(["missed-3"], NOW - timedelta(days=1))
    alert = store.create_alert(event, NOW, share=True, recipients=[100])
    assert alert is not None
    first = store.acknowledge_alert(alert.id, 100, NOW + timedelta(minutes=1))
    second = store.acknowledge_alert(alert.id, 200, NOW + timedelta(minutes=2))
    assert first is not None and first[1] and first[0].acknowledged_by == 100
    assert second is not None and not second[1] and second[0].acknowledged_by == 100
    assert store.open_alerts() == []
    assert store.claim_alert_deliveries(NOW + timedelta(hours=1)) == []  # no longer sent


def test_forget_removes_alerts_and_relays(store: Store) -> None:
    store.record_event(11, "hold", NOW)
    (event,) = store.events_without_alert(["hold"], NOW - timedelta(days=1))
    alert = store.create_alert(event, NOW, share=True, recipients=[100])
    assert alert is not None
    store.start_relay(100, 11, NOW, timedelta(minutes=30), alert_id=alert.id)
    assert store.alert_deliveries(alert.id) != []
    store.forget_chat(11)
    assert store.rows_about_chat(11) == 0
    assert store.get_alert(alert.id) is None
    assert store.alert_deliveries(alert.id) == []  # they go with their alert


# -- relays and reloads ----------------------------------------------------------------------


def test_a_relay_is_composed_sent_once_and_answered_within_its_window(store: Store) -> None:
    first = store.start_relay(100, 11, NOW, timedelta(minutes=30), alert_id=1)
    second = store.start_relay(100, 12, NOW, timedelta(minutes=30), alert_id=2)
    relay = store.composing_relay(100, NOW + timedelta(minutes=1))
    assert relay is not None and relay.id == second and relay.chat_id == 12
    assert (store.get_relay(first) or relay).state == "cancelled"
    assert store.composing_relay(100, NOW + timedelta(minutes=31)) is None
    assert store.claim_relay(second, NOW) and not store.claim_relay(second, NOW)
    store.relay_delivered(second, 900, NOW + timedelta(days=7))
    found = store.relay_for_reply(12, 900, NOW + timedelta(days=1))
    assert found is not None and found.staff_id == 100
    assert store.relay_for_reply(12, 901, NOW) is None
    assert store.relay_for_reply(11, 900, NOW) is None
    assert store.relay_for_reply(12, 900, NOW + timedelta(days=8)) is None
    store.count_relay_reply(second)
    assert (store.get_relay(second) or relay).replies == 1
    # A send that failed leaves it composing again.
    third = store.start_relay(200, 13, NOW, timedelta(minutes=30), alert_id=3)
    assert store.claim_relay(third, NOW)
    store.relay_delivered(third, None, None)
    assert store.composing_relay(200, NOW) is not None
    assert store.cancel_relay(third, 200) and store.composing_relay(200, NOW) is None


def test_reload_requests(store: Store) -> None:
    assert store.latest_reload_id() == 0
    first = store.request_reload(NOW, "cli")
    second = store.request_reload(NOW, "staff:100")
    assert store.latest_reload_id() == second > first
    store.finish_reload(second, NOW, ok=False, result="entries.yaml, entry 'x', field 'y'")
    record = store.get_reload(second)
    assert record is not None and record.state == "failed" and "entry 'x'" in (record.result or "")


# -- reports ---------------------------------------------------------------------------------


def test_stats_match_figures_computed_from_the_seed(store: Store) -> None:
    seeded = seed_evenings(store, range(1, 41), START - timedelta(days=40), 50, now=NOW)
    store.save_regimen(
        99, Regimen.from_plan(BOOK.plans["standard"], date(2027, 1, 1), time(21), "UTC"), NOW
    )
    today = date(2026, 12, 10)
    report = stats_report(store, NOW, today)

    def expected(days: int) -> tuple[int, int, int]:
        window = [e for e in seeded if today - timedelta(days=days) <= e.evening < today]
        counts = Counter(e.outcome for e in window)
        return counts["taken"], counts["skipped"], counts["missed"]

    got7 = report.adherence_7
    got30 = report.adherence_30
    assert (got7.taken, got7.skipped, got7.missed) == expected(7)
    assert (got30.taken, got30.skipped, got30.missed) == expected(30)
    assert report.active == 41 and report.paused == 0 and report.not_started == 1
    # Every seeded patient started 40 days ago on the standard plan: day 41 is its third step.
    regimen = Regimen.from_plan(BOOK.plans["standard"], START - timedelta(days=40), time(21), "UTC")
    night = regimen.tonight(today)
    assert night is not None
    assert [(s.plan, s.step, s.dose_mg, s.patients) for s in report.per_step] == [
        ("standard", night.step + 1, night.dose_mg, 40)
    ]
