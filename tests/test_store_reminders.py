"""The reminders' store: evenings claimed at most once, on SQLite and on PostgreSQL.

Fixtures (a fresh SQLite file or a private PostgreSQL schema per test) come from
tests/storefixtures.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from reminders import Pause, Regimen, load_plans
from store import Store
from tests.test_store import run_in_threads

BOOK = load_plans()
START = date(2026, 12, 1)
NINE = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)  # 21:00 in London in winter
GRACE = timedelta(hours=2)
ROOT = Path(__file__).resolve().parent.parent


def regimen(zone: str = "Europe/London", at: time = time(21), start: date = START) -> Regimen:
    return Regimen.from_plan(BOOK.plans["standard"], start, at, zone)


def enrol(
    store: Store, chats: range | list[int], now: datetime = NINE - timedelta(hours=5)
) -> None:
    for chat_id in chats:
        store.save_regimen(chat_id, regimen(), now)


def test_a_due_evening_is_created_once_and_claimed_once(store: Store) -> None:
    enrol(store, [1])
    stored = store.get_regimen(1)
    assert stored is not None and stored.next_due_at == NINE and stored.next_evening == START
    assert store.materialise_due(NINE - timedelta(seconds=1), GRACE) == 0
    assert store.materialise_due(NINE, GRACE) == 1
    assert store.materialise_due(NINE, GRACE) == 0  # moved on to tomorrow
    (claimed,) = store.claim_reminders(NINE, GRACE)
    assert (claimed.chat_id, claimed.evening, claimed.dose_mg) == (1, START, Decimal("1.5"))
    assert claimed.label == "Week 1 of 4" and claimed.delivery == "sending"
    assert store.claim_reminders(NINE + timedelta(minutes=1), GRACE) == []
    assert store.record_reminder(
        claimed.id, "sent", NINE, message_id=77, nudge_at=NINE + timedelta(hours=1)
    )
    evening = store.get_evening(claimed.id)
    assert evening is not None and (evening.delivery, evening.message_id) == ("sent", 77)
    assert store.followups_for_evening(claimed.id) == [("nudge", 0, "pending")]
    stored = store.get_regimen(1)
    assert stored is not None and stored.next_due_at == NINE + timedelta(days=1)


def test_two_threads_claim_each_evening_exactly_once(store: Store) -> None:
    enrol(store, range(1, 121))

    def work(_: int) -> list[int]:
        mine: list[int] = []
        for _round in range(6):
            store.materialise_due(NINE, GRACE, batch=25)
            mine += [e.chat_id for e in store.claim_reminders(NINE, GRACE, limit=15)]
        return mine

    results = run_in_threads(4, work)
    everything = [chat for result in results for chat in result]
    assert sorted(everything) == list(range(1, 121))  # all of them, none twice


CLAIM_IN_SUBPROCESS = """
import json, sys
from datetime import datetime, timedelta
from store import Store
now = datetime.fromisoformat(sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()
claimed = []
with Store.open(sys.argv[1]) as store:
    for _ in range(40):
        store.materialise_due(now, timedelta(hours=2), batch=20)
        claimed += [e.chat_id for e in store.claim_reminders(now, timedelta(hours=2), limit=10)]
print(json.dumps(claimed), flush=True)
"""


def test_three_processes_share_the_evenings_without_a_duplicate(store: Store, db_url: str) -> None:
    enrol(store, range(1, 301))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM_IN_SUBPROCESS, db_url, NINE.isoformat()],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:  # released together
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0, 0]
    claimed = [chat for out in outputs for chat in json.loads(out.strip().splitlines()[-1])]
    assert sorted(claimed) == list(range(1, 301))


def test_a_restart_mid_dispatch_never_resends(db_url: str) -> None:
    with Store.open(db_url) as first:
        enrol(first, range(1, 6))
        first.materialise_due(NINE, GRACE)
        claimed = first.claim_reminders(NINE, GRACE)
        assert len(claimed) == 5
        first.record_reminder(claimed[0].id, "sent", NINE, message_id=1)
        # ... and the process dies here, with four reminders claimed but not recorded.
    restart = NINE + timedelta(minutes=3)
    with Store.open(db_url) as second:
        assert second.recover_sending(restart) == 4
        assert second.claim_reminders(restart, GRACE) == []
        deliveries = sorted(
            (e.chat_id, e.delivery) for c in range(1, 6) for e in second.evenings_for_chat(c)
        )
        assert deliveries == [(1, "sent"), (2, "unknown"), (3, "unknown"), (4, "unknown"),
                              (5, "unknown")]  # fmt: skip
        # An unknown one is never marked missed; the sent one is, once the next day starts.
        assert second.close_missed(NINE + timedelta(hours=8)) == 1
        outcomes = {e.chat_id: e.outcome for c in range(1, 6) for e in second.evenings_for_chat(c)}
        assert outcomes == {1: "missed", 2: "none", 3: "none", 4: "none", 5: "none"}
        # A send whose answer comes back after the sweep still records what happened.
        assert second.record_reminder(claimed[1].id, "sent", restart, message_id=2)


def test_pending_rows_left_by_a_crash_are_sent_within_grace_only(db_url: str) -> None:
    with Store.open(db_url) as first:
        enrol(first, [1, 2])
        first.materialise_due(NINE, GRACE)  # pending, then the process dies before claiming
    with Store.open(db_url) as second:
        assert [e.chat_id for e in second.claim_reminders(NINE + timedelta(hours=1), GRACE)] == [
            1,
            2,
        ]
    with Store.open(db_url) as third:
        enrol(third, [3])
        third.materialise_due(NINE, GRACE)
        assert third.claim_reminders(NINE + GRACE + timedelta(seconds=1), GRACE) == []
        (evening,) = third.evenings_for_chat(3)
        assert (evening.delivery, evening.note, evening.outcome) == ("not_sent", "late", "none")


def test_an_outage_past_the_grace_window_is_not_sent_and_not_missed(store: Store) -> None:
    enrol(store, [1])
    back = NINE + timedelta(days=2, hours=3)  # down for two days, back at midnight
    assert store.materialise_due(back, GRACE) == 3
    assert store.claim_reminders(back, GRACE) == []
    evenings = store.evenings_for_chat(1)
    assert [(e.evening.day, e.delivery) for e in evenings] == [
        (3, "not_sent"),
        (2, "not_sent"),
        (1, "not_sent"),
    ]
    store.close_missed(back + timedelta(days=1))
    assert {e.outcome for e in store.evenings_for_chat(1)} == {"none"}
    # Within grace the evening's reminder goes out when the bot is back.
    assert store.materialise_due(back + timedelta(hours=21), GRACE) == 1
    assert len(store.claim_reminders(back + timedelta(hours=21), GRACE)) == 1


def test_taps_are_idempotent_and_log_against_their_own_evening(store: Store) -> None:
    enrol(store, [1])
    store.materialise_due(NINE, GRACE)
    (first,) = store.claim_reminders(NINE, GRACE)
    store.record_reminder(first.id, "sent", NINE, message_id=10, nudge_at=NINE + timedelta(hours=1))
    tomorrow = NINE + timedelta(days=1)
    store.materialise_due(tomorrow, GRACE)
    (second,) = store.claim_reminders(tomorrow, GRACE)
    store.record_reminder(second.id, "sent", tomorrow, message_id=11)

    tap = store.record_outcome(1, first.id, "taken", tomorrow + timedelta(minutes=5))
    assert tap is not None and tap.recorded and tap.evening.evening == START
    again = store.record_outcome(1, first.id, "taken", tomorrow + timedelta(minutes=6))
    assert again is not None and not again.recorded and again.evening.outcome == "taken"
    skip = store.record_outcome(1, first.id, "skipped", tomorrow + timedelta(minutes=7))
    assert skip is not None and not skip.recorded and skip.evening.outcome == "taken"
    assert store.followups_for_evening(first.id) == [("nudge", 0, "not_sent")]
    assert store.record_outcome(2, first.id, "taken", tomorrow) is None  # not this chat's
    second_now = store.get_evening(second.id)
    assert second_now is not None and second_now.outcome == "none"


def test_a_late_answer_replaces_missed_once(store: Store) -> None:
    enrol(store, [1, 2])
    store.materialise_due(NINE, GRACE)
    claimed = store.claim_reminders(NINE, GRACE)
    for evening in claimed:
        store.record_reminder(evening.id, "sent", NINE, message_id=1)
    next_day = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert store.close_missed(next_day - timedelta(seconds=1)) == 0
    assert store.close_missed(next_day) == 2
    first, second = sorted(claimed, key=lambda e: e.chat_id)
    taken = store.record_outcome(1, first.id, "taken", next_day)
    assert taken is not None and taken.recorded and taken.evening.outcome == "taken"
    skip = store.record_outcome(2, second.id, "skipped", next_day)
    assert skip is not None and skip.recorded and skip.evening.outcome == "skipped"
    again = store.record_outcome(2, second.id, "taken", next_day)
    assert again is not None and not again.recorded and again.evening.outcome == "skipped"
    assert store.close_missed(next_day + timedelta(days=1)) == 0


def test_snooze_and_nudge_are_rows_claimed_once(store: Store) -> None:
    enrol(store, [1])
    store.materialise_due(NINE, GRACE)
    (claimed,) = store.claim_reminders(NINE, GRACE)
    store.record_reminder(
        claimed.id, "sent", NINE, message_id=1, nudge_at=NINE + timedelta(hours=1)
    )
    at = store.snooze(1, claimed.id, NINE + timedelta(minutes=2), 30)
    assert at == NINE + timedelta(minutes=32)
    assert store.snooze(1, claimed.id, NINE + timedelta(minutes=3), 30) == at  # double tap
    assert store.followups_for_evening(claimed.id) == [
        ("nudge", 0, "not_sent"),
        ("snooze", 1, "pending"),
    ]
    assert store.claim_followups(at - timedelta(seconds=1), GRACE) == []
    (followup,) = store.claim_followups(at, GRACE)
    assert followup.kind == "snooze" and followup.evening.id == claimed.id
    assert store.claim_followups(at, GRACE) == []
    assert store.record_followup(followup.id, "sent", at, message_id=2)
    # Snoozed again after the first snooze went out: a second row.
    assert store.snooze(1, claimed.id, at + timedelta(minutes=1), 30) is not None
    store.record_outcome(1, claimed.id, "taken", at + timedelta(minutes=2))
    assert store.claim_followups(at + timedelta(hours=1), GRACE) == []
    assert store.snooze(1, claimed.id, at + timedelta(minutes=3), 30) is None  # answered


def test_pause_records_evenings_without_sending_and_stop_records_none(store: Store) -> None:
    enrol(store, [1, 2])
    store.set_pause(1, Pause.PAUSED, NINE, until=START + timedelta(days=2))
    store.set_pause(2, Pause.STOPPED, NINE)
    assert store.materialise_due(NINE + timedelta(days=2), GRACE) == 3
    assert [e.chat_id for e in store.claim_reminders(NINE + timedelta(days=2), GRACE)] == [1]
    notes = [(e.evening.day, e.delivery, e.note) for e in store.evenings_for_chat(1)]
    assert notes == [(3, "sending", None), (2, "not_sent", "paused"), (1, "not_sent", "paused")]
    assert store.evenings_for_chat(2) == []
    resumed = store.set_pause(2, Pause.ACTIVE, NINE + timedelta(days=2, hours=1))
    assert resumed is not None and resumed.next_evening == START + timedelta(days=3)


def test_hold_and_time_changes_never_repeat_tonight(store: Store) -> None:
    start = START - timedelta(days=14)  # tonight is the step-up to 3 mg
    store.save_regimen(1, regimen(start=start), NINE - timedelta(hours=1))
    store.materialise_due(NINE, GRACE)
    (claimed,) = store.claim_reminders(NINE, GRACE)
    assert claimed.step_up and claimed.dose_mg == Decimal("3")
    result = store.hold_step(1, claimed.id, NINE + timedelta(minutes=5), 7)
    assert result is not None
    held, added = result
    assert added and held.dose_mg == Decimal("1.5") and not held.step_up
    assert store.hold_step(1, claimed.id, NINE + timedelta(minutes=6), 7) == (held, False)
    stored = store.get_regimen(1)
    assert stored is not None and len(stored.regimen.holds) == 1
    # A later reminder time tonight does not bring a second reminder tonight.
    store.update_reminder_time(1, NINE + timedelta(minutes=10), at=time(22, 30))
    assert store.materialise_due(NINE + timedelta(hours=2), GRACE) == 0
    # Choosing the plan again does not either.
    store.save_regimen(1, regimen(start=start, at=time(23)), NINE + timedelta(minutes=20))
    assert store.materialise_due(NINE + timedelta(hours=2, minutes=5), GRACE) == 0
    stored = store.get_regimen(1)
    assert stored is not None and stored.next_evening == START + timedelta(days=1)


def test_draft_is_a_row_and_forget_removes_every_reminder_row(store: Store) -> None:
    store.record_chat(1, "private", NINE, started=True)
    store.save_draft(1, "start", NINE, plan_name="standard")
    draft = store.save_draft(1, "time", NINE, start_date=START)
    assert (draft.stage, draft.plan_name, draft.start_date) == ("time", "standard", START)
    enrol(store, [1, 2])
    store.materialise_due(NINE, GRACE)
    claimed = store.claim_reminders(NINE, GRACE)
    for evening in claimed:
        store.record_reminder(evening.id, "sent", NINE, message_id=1, nudge_at=NINE)
    store.record_event(1, "hold", NINE, ref="2026-12-01")
    assert store.rows_about_chat(1) >= 6
    store.forget_chat(1)
    assert store.rows_about_chat(1) == 0
    assert store.get_regimen(1) is None and store.get_draft(1) is None
    assert store.get_regimen(2) is not None and len(store.evenings_for_chat(2)) == 1


def test_an_old_step_up_reminder_cannot_hold_once_its_evening_is_over(store: Store) -> None:
    start = START - timedelta(days=14)
    store.save_regimen(1, regimen(start=start), NINE - timedelta(hours=1))
    store.materialise_due(NINE, GRACE)
    (step_up,) = store.claim_reminders(NINE, GRACE)
    store.record_reminder(step_up.id, "sent", NINE, message_id=1)
    next_morning = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    as_it_was = store.get_evening(step_up.id)
    assert store.hold_step(1, step_up.id, next_morning, 7) == (as_it_was, False)
    stored = store.get_regimen(1)
    assert stored is not None and stored.regimen.holds == ()
    result = store.hold_step(1, step_up.id, next_morning - timedelta(seconds=1), 7)
    assert result is not None and result[1]


def test_a_chat_that_blocked_the_bot_gets_no_reminder_until_it_writes_again(
    store: Store,
) -> None:
    enrol(store, [1, 2])
    store.record_chat(1, "private", NINE - timedelta(days=1), started=True)
    store.mark_unreachable(1, NINE - timedelta(hours=1))  # a 403 yesterday evening
    assert store.materialise_due(NINE, GRACE) == 2
    assert [c.chat_id for c in store.claim_reminders(NINE, GRACE)] == [2]
    blocked = store.evening_for(1, START)
    assert blocked is not None and (blocked.delivery, blocked.note) == ("not_sent", "unreachable")
    store.record_chat(1, "private", NINE + timedelta(hours=2))  # the patient writes again
    assert store.materialise_due(NINE + timedelta(days=1), GRACE) == 2
    tomorrow = {c.chat_id for c in store.claim_reminders(NINE + timedelta(days=1), GRACE)}
    assert tomorrow == {1, 2}
