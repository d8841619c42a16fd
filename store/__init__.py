"""Storage layer of the LDN bot: SQLite or PostgreSQL through SQLAlchemy 2, schema by Alembic.

Exactly-once behaviour (nightly reminders, broadcast outbox) is built on the database's
unique constraints and atomic claims, so the store is safe with several threads and with
several bot processes sharing one PostgreSQL database. Nothing here reads the clock: every
operation that depends on the time takes ``now`` (a timezone-aware datetime).

Usage::

    store = Store.open("sqlite:///ldn-bot.sqlite3")   # migrates to head
    store.record_chat(chat_id, "private", now, started=True)
    ...
    store.close()

Exception hierarchy (invalid arguments raise plain :class:`ValueError` instead)::

    StoreError                  the database could not do what was asked
    ├── MigrationError          upgrading the schema to head failed / database ahead of code
    └── UnknownChatError        (also a LookupError) the chat was never recorded

Modules: :mod:`store.core` (the :class:`Store`), one module per domain (:mod:`store.chats`,
:mod:`store.events`, :mod:`store.regimens`, :mod:`store.reminders` (evenings and their
claims), :mod:`store.followups` (snoozes, nudges, taps, holds), with their values in
:mod:`store.records`) on :mod:`store.base`, :mod:`store.models` (tables and the
registry of chat-linked tables), :mod:`store.migrate` (Alembic driven from code),
:mod:`store.engine` (engine set-up per backend), ``store/migrations`` (revisions).
Clinic staff: :mod:`store.staff` (members, invitations), :mod:`store.audit` (the audit log and
pseudonyms), :mod:`store.patients` (consent, clinic references), :mod:`store.enrolment`
(enrolment links), :mod:`store.broadcasts` (drafts, audiences) and :mod:`store.outbox` (the
per-recipient outbox and its claims).
"""

from __future__ import annotations

from .audit import AuditRecord
from .chats import ChatKind, ChatRecord, UnansweredCount, UnansweredQuestionRow, UnansweredStatus
from .checkin_answers import AnswerTap, CheckinAnswerRecord
from .checkins import CheckinRecord
from .core import Store
from .errors import MigrationError, StoreError, UnknownChatError
from .events import EventRecord
from .inbox import ClaimedUpdate, InboxCounts, IncomingUpdate, ProcessLock
from .migrate import head_revision
from .patients import ConsentRecord
from .records import Draft, EveningRecord, FollowupRecord, StoredRegimen, Tap
from .staff import Redeemed, Redemption, Role, StaffRecord

__all__ = [
    "AnswerTap",
    "AuditRecord",
    "ChatKind",
    "ChatRecord",
    "CheckinAnswerRecord",
    "CheckinRecord",
    "ClaimedUpdate",
    "ConsentRecord",
    "Draft",
    "EveningRecord",
    "EventRecord",
    "FollowupRecord",
    "InboxCounts",
    "IncomingUpdate",
    "MigrationError",
    "ProcessLock",
    "Redeemed",
    "Redemption",
    "Role",
    "StaffRecord",
    "Store",
    "StoreError",
    "StoredRegimen",
    "Tap",
    "UnansweredCount",
    "UnansweredQuestionRow",
    "UnansweredStatus",
    "UnknownChatError",
    "head_revision",
]
