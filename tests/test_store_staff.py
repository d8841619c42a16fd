"""Staff, invites, the audit log, pseudonyms, consent and clinic references, on SQLite and
PostgreSQL (fixtures from tests/storefixtures.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from store import Redeemed, Store
from store.models import AuditEntry
from tests.test_store import run_in_threads

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def test_staff_are_added_listed_and_removed(store: Store) -> None:
    assert store.stored_role(7) is None
    store.add_staff(7, "staff", NOW, added_by=1)
    store.add_staff(8, "admin", NOW)
    store.add_staff(7, "admin", NOW + DAY)  # a role change keeps the first added_at
    assert [(m.user_id, m.role, m.added_at) for m in store.list_staff()] == [
        (7, "admin", NOW),
        (8, "admin", NOW),
    ]
    assert store.remove_staff(7) is True
    assert store.remove_staff(7) is False
    assert store.stored_role(7) is None
    with pytest.raises(ValueError):
        store.add_staff(9, "owner", NOW)


def test_an_invite_is_used_once_and_expires(store: Store) -> None:
    store.create_invite(digest("good"), "staff", NOW, NOW + DAY, created_by=1)
    store.create_invite(digest("old"), "admin", NOW, NOW + DAY)
    assert store.redeem_invite(digest("nope"), 5, NOW).result is Redeemed.UNKNOWN
    first = store.redeem_invite(digest("good"), 5, NOW + timedelta(hours=1))
    assert (first.result, first.role) == (Redeemed.JOINED, "staff")
    assert store.stored_role(5) == "staff"
    assert store.redeem_invite(digest("good"), 6, NOW).result is Redeemed.USED
    assert store.redeem_invite(digest("old"), 6, NOW + DAY).result is Redeemed.EXPIRED
    assert store.stored_role(6) is None


def test_an_invite_raced_for_makes_one_member(store: Store) -> None:
    store.create_invite(digest("race"), "staff", NOW, NOW + DAY)
    results = run_in_threads(8, lambda i: store.redeem_invite(digest("race"), 100 + i, NOW))
    joined = [r for r in results if r.result is Redeemed.JOINED]
    assert len(joined) == 1
    assert len(store.list_staff()) == 1


def test_only_hashes_of_codes_are_stored(store: Store, raw_engine: Engine) -> None:
    store.create_invite(digest("secret-code"), "staff", NOW, NOW + DAY)
    with raw_engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM staff_invites").all()
    assert "secret-code" not in repr(rows)


def test_audit_is_appended_in_order_and_filtered(store: Store) -> None:
    first = store.append_audit("staff:1", "invite", NOW, subject="invite:1", detail="role staff")
    store.append_audit("p-0011223344", "refused", NOW + DAY, detail="broadcast (private)")
    entries = store.audit_entries()
    assert [e.action for e in entries] == ["invite", "refused"]
    assert entries[0].id == first and entries[0].at == NOW
    assert [e.action for e in store.audit_entries(since=NOW + DAY)] == ["refused"]
    assert [e.action for e in store.audit_entries(action="invite")] == ["invite"]
    assert [e.action for e in store.audit_entries(limit=1)] == ["refused"]
    with pytest.raises(ValueError):
        store.append_audit("", "x", NOW)


def test_pseudonyms_are_stable_random_and_forgotten(store: Store, raw_engine: Engine) -> None:
    store.record_chat(42, "private", NOW, started=True)
    name = store.pseudonym(42, NOW)
    assert name.startswith("p-") and len(name) == 12
    assert store.pseudonym(42, NOW + DAY) == name
    assert store.pseudonym(43, NOW) != name
    assert store.chat_of_pseudonym(name) == 42
    store.append_audit("staff:1", "enrol", NOW, subject=name)
    store.forget_chat(42)
    # The audit row stays, and names nobody any more.
    assert store.audit_entries()[-1].subject == name
    assert store.chat_of_pseudonym(name) is None
    assert store.pseudonym(42, NOW) != name
    with raw_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_concurrent_pseudonym_requests_agree(store: Store) -> None:
    names = run_in_threads(8, lambda _: store.pseudonym(77, NOW))
    assert len(set(names)) == 1


def test_consent_is_a_history_and_the_latest_answer_counts(store: Store) -> None:
    assert store.has_consent(5) is False
    store.record_consent(5, True, NOW, "enrolment")
    store.record_consent(6, True, NOW, "enrolment")
    store.record_consent(5, False, NOW + DAY, "privacy")
    assert [(c.granted, c.source) for c in store.consent_history(5)] == [
        (True, "enrolment"),
        (False, "privacy"),
    ]
    assert store.has_consent(5) is False
    assert store.consenting_chats() == [6]
    store.record_consent(5, True, NOW + 2 * DAY, "privacy")
    assert store.consenting_chats() == [5, 6]
    store.forget_chat(5)
    assert store.consent_history(5) == []


def test_clinic_references_are_linked_replaced_and_forgotten(store: Store) -> None:
    assert store.clinic_ref(5) is None
    store.link_clinic_ref(5, " MRN 1234 ", NOW)
    assert store.clinic_ref(5) == "MRN 1234"
    store.link_clinic_ref(5, "MRN 99", NOW)
    assert store.clinic_ref(5) == "MRN 99"
    with pytest.raises(ValueError):
        store.link_clinic_ref(5, "x" * 65, NOW)
    store.forget_chat(5)
    assert store.clinic_ref(5) is None
