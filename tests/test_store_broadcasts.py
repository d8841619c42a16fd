"""Enrolment codes and the broadcast outbox on SQLite and PostgreSQL: one launch, each row
claimed once (threads and two stores at once), retries, crash recovery, cancel, audiences."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from reminders import Pause, Regimen, load_plans
from store import Store
from store.broadcasts import Audience
from store.enrolment import Opened
from store.outbox import RETRIES, OutboxResult
from tests.test_store import run_in_threads

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
BOOK = load_plans()
STAFF = 9001


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def patients(store: Store, count: int, first: int = 1000) -> list[int]:
    chats = list(range(first, first + count))
    for chat in chats:
        store.record_chat(chat, "private", NOW, started=True)
    return chats


def regimen(plan: str, start: date) -> Regimen:
    return Regimen.from_plan(BOOK.plans[plan], start, time(21), "Europe/London")


def draft_to(store: Store, audience: str = "all", plan: str | None = None, **extra: object) -> int:
    draft = store.new_broadcast_draft(STAFF, NOW)
    store.update_draft(draft.id, text="Clinic closed Monday", audience=audience,
                       plan_name=plan, stage="preview", **extra)  # fmt: skip
    return draft.id


def test_enrolment_codes_open_once_and_expire(store: Store) -> None:
    store.create_enrolment(digest("a"), "standard", date(2026, 12, 7), NOW, NOW + timedelta(days=1),
                           ref="MRN 1234", created_by=STAFF)  # fmt: skip
    store.create_enrolment(digest("b"), "standard", date(2026, 12, 7), NOW, NOW + timedelta(days=1))
    assert store.open_enrolment(digest("zz"), 5, NOW, stage="consent").result is Opened.UNKNOWN
    opened = store.open_enrolment(digest("a"), 5, NOW, stage="consent")
    assert opened.result is Opened.OPENED and opened.enrolment is not None
    assert (opened.enrolment.plan_name, opened.enrolment.ref) == ("standard", "MRN 1234")
    assert store.clinic_ref(5) == "MRN 1234"
    pending = store.pending_enrolment(5)
    assert pending is not None and pending.stage == "consent"
    assert store.open_enrolment(digest("a"), 6, NOW, stage="consent").result is Opened.USED
    late = NOW + timedelta(days=2)
    assert store.open_enrolment(digest("b"), 6, late, stage="consent").result is Opened.EXPIRED
    assert store.settle_enrolment(5, "replace", None) is False
    assert store.settle_enrolment(5, "consent", None) is True
    assert store.pending_enrolment(5) is None


def test_an_enrolment_code_raced_for_opens_once(store: Store) -> None:
    store.create_enrolment(digest("r"), "standard", date(2026, 12, 7), NOW, NOW + timedelta(days=1))
    results = run_in_threads(6, lambda i: store.open_enrolment(digest("r"), 50 + i, NOW,
                                                               stage="consent"))  # fmt: skip
    assert [r.result for r in results].count(Opened.OPENED) == 1


def test_audiences(store: Store) -> None:
    chats = patients(store, 6)
    store.save_regimen(chats[0], regimen("standard", date(2026, 11, 30)), NOW)  # titrating
    store.save_regimen(chats[1], regimen("standard", date(2025, 1, 1)), NOW)  # maintenance
    store.save_regimen(chats[2], regimen("standard", date(2026, 11, 30)), NOW)
    store.set_pause(chats[2], Pause.STOPPED, NOW)
    store.mark_unreachable(chats[3], NOW)
    store.set_preference(chats[4], "updates", "off", NOW)
    store.record_chat(-100123, "group", NOW, started=True)
    store.record_chat(777, "private", NOW)  # never pressed Start
    assert store.audience(Audience("all"), NOW) == [chats[0], chats[1], chats[5]]
    assert store.audience(Audience("all", urgent=True), NOW) == [chats[0], chats[1], chats[4],
                                                                  chats[5]]  # fmt: skip
    assert store.audience(Audience("all"), NOW, exclude=[chats[5]]) == [chats[0], chats[1]]
    assert store.audience(Audience("titrating"), NOW) == [chats[0]]
    assert store.audience(Audience("plan", "standard"), NOW) == [chats[0], chats[1]]
    with pytest.raises(ValueError):
        Audience("plan")


def test_launch_writes_one_row_per_recipient_once(store: Store) -> None:
    chats = patients(store, 50)
    bid = draft_to(store)
    launched = run_in_threads(4, lambda _: store.launch_broadcast(bid, NOW, exclude=[chats[0]]))
    assert sorted(launched, key=str) == [49, None, None, None]
    assert store.outbox_counts(bid) == {"pending": 49}
    record = store.get_broadcast(bid)
    assert record is not None and record.state == "sending" and record.total == 49


def test_rows_are_claimed_once_by_racing_claimers(store: Store, db_url: str) -> None:
    patients(store, 300)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    other = Store.open(db_url)
    try:
        stores = [store, other]

        def drain(i: int) -> list[int]:
            got: list[int] = []
            while claimed := stores[i % 2].claim_outbox(NOW, limit=7):
                got += [item.chat_id for item in claimed]
            return got

        claimed = Counter(c for chats in run_in_threads(6, drain) for c in chats)
    finally:
        other.close()
    assert len(claimed) == 300 and set(claimed.values()) == {1}
    assert store.outbox_counts(bid) == {"sending": 300}


def test_results_retries_and_finishing(store: Store) -> None:
    chats = patients(store, 4)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    items = store.claim_outbox(NOW)
    by_chat = {item.chat_id: item.id for item in items}
    store.record_outbox(
        [
            OutboxResult(by_chat[chats[0]], "sent", 11),
            OutboxResult(by_chat[chats[1]], "blocked"),
            OutboxResult(by_chat[chats[2]], "not_sent", retry=True),
            OutboxResult(by_chat[chats[3]], "unknown"),
        ],
        NOW,
    )
    assert store.finish_broadcasts(NOW) == []  # one row waits for its retry
    assert store.claim_outbox(NOW) == []  # not yet
    later = NOW
    for delay in RETRIES:
        later += delay
        (item,) = store.claim_outbox(later)
        store.record_outbox([OutboxResult(item.id, "not_sent", retry=True)], later)
    assert store.outbox_counts(bid) == {"sent": 1, "blocked": 1, "failed": 1, "unknown": 1}
    assert store.finish_broadcasts(later) == [bid]
    assert store.claim_report(bid) is True
    assert store.claim_report(bid) is False


def test_rows_sending_at_a_crash_become_unknown_never_pending(store: Store) -> None:
    patients(store, 5)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    for item in store.claim_outbox(NOW, limit=2):
        store.mark_outbox_attempted(item.id, NOW)
    assert store.recover_outbox(NOW + timedelta(seconds=1)) == 2
    assert store.outbox_counts(bid) == {"unknown": 2, "pending": 3}
    assert len(store.claim_outbox(NOW)) == 3


def test_rows_claimed_but_never_attempted_go_back_to_pending(store: Store) -> None:
    patients(store, 5)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    first, second, third = store.claim_outbox(NOW, limit=3)
    store.mark_outbox_attempted(second.id, NOW)
    # A crash: only the row whose request was under way may have arrived.
    assert store.recover_outbox(NOW + timedelta(seconds=1)) == 1
    assert store.outbox_counts(bid) == {"unknown": 1, "pending": 4}
    again = store.claim_outbox(NOW + timedelta(seconds=2))
    assert {item.id for item in again} >= {first.id, third.id}
    assert second.id not in {item.id for item in again}


def test_a_retried_row_is_not_attempted_until_tried_again(store: Store) -> None:
    patients(store, 1)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    (item,) = store.claim_outbox(NOW)
    store.mark_outbox_attempted(item.id, NOW)
    store.record_outbox([OutboxResult(item.id, "not_sent", retry=True)], NOW)
    later = NOW + RETRIES[0]
    (again,) = store.claim_outbox(later)
    assert again.id == item.id
    assert store.recover_outbox(later + timedelta(seconds=1)) == 0  # claimed, never tried
    assert store.outbox_counts(bid) == {"pending": 1}


def test_cancel_stops_rows_not_yet_claimed(store: Store) -> None:
    patients(store, 5)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    store.claim_outbox(NOW, limit=2)
    assert store.cancel_broadcast(bid, NOW) == "sending"
    assert store.cancel_broadcast(bid, NOW) is None
    assert store.outbox_counts(bid) == {"sending": 2, "not_sent": 3}
    assert store.claim_outbox(NOW) == []


def test_rows_in_flight_at_a_cancel_are_never_sent_after_it(store: Store) -> None:
    patients(store, 5)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    retried, untried, sent = store.claim_outbox(NOW, limit=3)
    for item in (retried, sent):
        store.mark_outbox_attempted(item.id, NOW)
    assert store.cancel_broadcast(bid, NOW) == "sending"
    # In flight at the cancel: one answered 5xx (worth a retry), one arrived, and the process
    # died before trying the third (its claim is undone).
    store.record_outbox(
        [OutboxResult(retried.id, "not_sent", retry=True), OutboxResult(sent.id, "sent", 7)], NOW
    )
    store.recover_outbox(NOW + timedelta(seconds=1))
    assert store.claim_outbox(NOW + RETRIES[-1] * 2) == []
    assert store.finish_broadcasts(NOW + timedelta(seconds=2)) == []
    assert store.outbox_counts(bid) == {"sent": 1, "not_sent": 4}
    assert untried.id != retried.id


def test_scheduled_broadcasts_launch_when_due(store: Store) -> None:
    patients(store, 3)
    bid = draft_to(store, urgent=True)
    assert store.schedule_broadcast(bid, NOW + timedelta(hours=1))
    assert store.due_broadcasts(NOW) == []
    assert store.launch_broadcast(bid, NOW) is None
    due = NOW + timedelta(hours=1)
    assert store.due_broadcasts(due) == [bid]
    assert store.launch_broadcast(bid, due) == 3
    assert [b.id for b in store.recent_broadcasts()] == [bid]


def test_forget_removes_a_patients_outbox_rows(store: Store) -> None:
    chats = patients(store, 2)
    bid = draft_to(store)
    store.launch_broadcast(bid, NOW)
    store.forget_chat(chats[0])
    assert store.outbox_counts(bid) == {"pending": 1}
    assert store.rows_about_chat(chats[0]) == 0
