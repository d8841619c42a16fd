"""The durable inbox's store side on SQLite and PostgreSQL: stored once, claimed in order per
chat, leased to one owner, results recorded, words dropped when handled."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from store import IncomingUpdate, Store
from store.models import InboxUpdate

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def incoming(update_id: int, chat_id: int | None, text: str = "hi") -> IncomingUpdate:
    return IncomingUpdate(update_id, chat_id, f'{{"update_id": {update_id}, "text": "{text}"}}')


def test_an_update_is_stored_once_and_the_offset_follows(store: Store) -> None:
    assert store.last_update_id() is None
    assert store.store_updates([incoming(1, 10), incoming(2, 11)], NOW) == 2
    assert store.store_updates([incoming(2, 11), incoming(3, 10)], NOW) == 1  # re-delivered
    assert store.last_update_id() == 3
    assert store.inbox_counts().pending == 3


def test_only_the_oldest_pending_update_of_a_chat_is_claimed(store: Store) -> None:
    store.store_updates([incoming(1, 10), incoming(2, 10), incoming(3, 11), incoming(4, None)], NOW)
    first = store.claim_updates("a", NOW, 10, LEASE)
    assert [c.update_id for c in first] == [1, 3, 4]
    assert store.claim_updates("a", NOW, 10, LEASE) == []  # 2 waits for 1
    store.finish_updates("a", [1], [], [], NOW)
    assert [c.update_id for c in store.claim_updates("a", NOW, 10, LEASE)] == [2]


def test_a_lease_keeps_others_off_until_it_expires(store: Store) -> None:
    store.store_updates([incoming(1, 10)], NOW)
    assert [c.update_id for c in store.claim_updates("a", NOW, 5, LEASE)] == [1]
    assert store.claim_updates("b", NOW + timedelta(seconds=59), 5, LEASE) == []
    taken = store.claim_updates("b", NOW + timedelta(seconds=61), 5, LEASE)
    assert [c.update_id for c in taken] == [1]
    # The first owner's late result does not count: the row is b's now.
    store.finish_updates("a", [1], [], [], NOW)
    assert store.inbox_counts().pending == 1
    store.finish_updates("b", [1], [], [], NOW)
    assert store.inbox_counts().done == 1


def test_renewed_leases_hold_and_released_leases_free(store: Store) -> None:
    store.store_updates([incoming(1, 10), incoming(2, 11)], NOW)
    store.claim_updates("a", NOW, 5, LEASE)
    store.renew_leases("a", [1], NOW + timedelta(seconds=50), LEASE)
    later = NOW + timedelta(seconds=70)
    assert [c.update_id for c in store.claim_updates("b", later, 5, LEASE)] == [2]
    store.release_all_leases()
    assert [c.update_id for c in store.claim_updates("c", later, 5, LEASE)] == [1, 2]


def test_a_retry_counts_an_attempt_and_waits_keeping_the_chat_in_order(store: Store) -> None:
    store.store_updates([incoming(1, 10), incoming(2, 10)], NOW)
    store.claim_updates("a", NOW, 5, LEASE)
    store.finish_updates("a", [], [(1, NOW + timedelta(seconds=10))], [], NOW)
    assert store.claim_updates("a", NOW + timedelta(seconds=5), 5, LEASE) == []
    again = store.claim_updates("a", NOW + timedelta(seconds=10), 5, LEASE)
    assert [(c.update_id, c.attempts) for c in again] == [(1, 1)]


def test_handled_and_failed_updates_keep_no_words(store: Store, raw_engine: object) -> None:
    store.store_updates([incoming(1, 10, "my secret"), incoming(2, 11, "other secret")], NOW)
    store.claim_updates("a", NOW, 5, LEASE)
    store.finish_updates("a", [1], [], [2], NOW)
    with raw_engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.state))
        assert sorted(rows) == [(1, None, "done"), (2, None, "failed")]
    assert store.purge_inbox(NOW + timedelta(days=1)) == 2
    assert store.inbox_counts().done == 0


def test_forget_removes_the_chats_inbox_rows(store: Store) -> None:
    store.store_updates([incoming(1, 10), incoming(2, 11)], NOW)
    assert store.forget_chat(10) == 1
    assert store.rows_about_chat(10) == 0 and store.inbox_counts().pending == 1


def test_concurrent_claimers_never_take_the_same_update(store: Store) -> None:
    store.store_updates([incoming(i, i % 40) for i in range(1, 401)], NOW)
    taken: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}

    def work(owner: str) -> None:
        while True:
            claimed = store.claim_updates(owner, NOW, 7, LEASE)
            if not claimed:
                if store.inbox_counts().pending == 0:
                    return
                continue
            taken[owner].extend(c.update_id for c in claimed)
            store.finish_updates(owner, [c.update_id for c in claimed], [], [], NOW)

    threads = [threading.Thread(target=work, args=(owner,)) for owner in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    every = [u for ids in taken.values() for u in ids]
    assert sorted(every) == list(range(1, 401))  # each exactly once
    # Within a chat, in order: each owner's list is increasing per chat, and a chat's
    # updates were finished one after another.
    for ids in taken.values():
        for chat in range(40):
            mine = [u for u in ids if u % 40 == chat]
            assert mine == sorted(mine)


@pytest.mark.postgres
def test_one_poller_at_a_time_on_postgresql(pg_url: str) -> None:
    with Store.open(pg_url) as one, Store.open(pg_url) as two:
        first, second = one.poller_lock(), two.poller_lock()
        assert first.acquire() and first.still_held()
        assert not second.acquire()
        first.release()
        assert second.acquire()
        second.release()
        # The bulk-sending lock is another lock: one process may poll while another sends.
        bulk = two.bulk_lock()
        assert first.acquire() and bulk.acquire()
        assert not one.bulk_lock().acquire()
        first.release()
        bulk.release()


def test_sqlite_serves_one_process_which_always_polls(tmp_path: object) -> None:
    with Store.open(f"sqlite:///{tmp_path}/one.sqlite3") as store:
        lock = store.poller_lock()
        assert lock.acquire() and lock.still_held()
        lock.release()


def test_forget_keeps_messages_sent_after_the_request(store: Store) -> None:
    store.store_updates([incoming(1, 10), incoming(2, 10), incoming(3, 10)], NOW)
    assert store.forget_chat(10, sent_after=2) == 2
    assert store.claim_updates("a", NOW, 5, LEASE)[0].update_id == 3
