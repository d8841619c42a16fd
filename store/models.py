"""Declarative models: the single source of truth the Alembic migrations must reproduce.

Every timestamp column is :class:`UtcDateTime`: it accepts only timezone-aware datetimes,
stores them in UTC and always gives back aware UTC datetimes, on SQLite as on PostgreSQL.

Tables that hold anything about a chat are registered with :func:`chat_linked` so that
``Store.forget_chat`` and ``Store.rows_about_chat`` cover them; a new table with a ``chat_id``
column must carry the decorator (a test fails otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

CHAT_KINDS: Final = ("private", "group", "supergroup")
# Delivery (what happened to the message) is kept apart from outcome (what the patient did).
DELIVERIES: Final = ("pending", "sending", "sent", "unknown", "not_sent", "blocked")
OUTCOMES: Final = ("none", "taken", "skipped", "missed")
REGIMEN_STATES: Final = ("active", "paused", "stopped")
FOLLOWUP_KINDS: Final = ("snooze", "nudge")
UNANSWERED_STATUSES: Final = ("fallback", "clarify")

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that refuses naive datetimes and returns aware UTC.

    SQLite has no time zone support, so values are stored there as naive UTC text (fixed
    width, so text order is time order) and tagged as UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers give datetimes
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class ChatLink:
    """A table holding rows about one chat, found through ``column``."""

    table: Table
    column: str = "chat_id"


CHAT_LINKED_TABLES: list[ChatLink] = []
"""Every table whose rows are about a chat; ``forget_chat`` deletes from all of them."""

_M = TypeVar("_M", bound=type[Base])


def register_chat_table(table: Table, column: str = "chat_id") -> None:
    """Include ``table`` in ``forget_chat`` / ``rows_about_chat`` (idempotent)."""
    if column not in table.c:
        raise ValueError(f"table {table.name!r} has no column {column!r}")
    link = ChatLink(table, column)
    if link not in CHAT_LINKED_TABLES:
        CHAT_LINKED_TABLES.append(link)


def chat_linked(column: str = "chat_id") -> Callable[[_M], _M]:
    """Class decorator form of :func:`register_chat_table` for declarative models."""

    def decorate(model: _M) -> _M:
        table = model.__table__
        if not isinstance(table, Table):  # pragma: no cover - declarative always makes a Table
            raise TypeError(f"{model.__name__} is not mapped to a Table")
        register_chat_table(table, column)
        return model

    return decorate


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


@chat_linked()
class Chat(Base):
    """A Telegram chat the bot has seen; reminders and broadcasts go to started ones."""

    __tablename__ = "chats"
    __table_args__ = (CheckConstraint(_in("kind", CHAT_KINDS), name="kind"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    started: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    language_code: Mapped[str | None] = mapped_column(String(35))
    # Set when Telegram answers 403 (blocked, deactivated) or "chat not found"; cleared when
    # the chat writes again. Reminders and broadcasts skip unreachable chats.
    unreachable_since: Mapped[datetime | None] = mapped_column(UtcDateTime())


@chat_linked()
class ChatPreference(Base):
    """One key/value setting of a chat (reminder time, language...)."""

    __tablename__ = "chat_preferences"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.chat_id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UnansweredQuestion(Base):
    """How often a question the engine could not answer was asked on one day (UTC), scrubbed
    of names and numbers (:mod:`knowledge.scrub`). Deliberately no chat, no time of day and no
    order of asking: the key is (question, day, status) and a count, and on SQLite the table
    has no rowid (rows are stored in key order, not in the order they came)."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (
        CheckConstraint(_in("status", UNANSWERED_STATUSES), name="status"),
        CheckConstraint("count > 0", name="count"),
        {"sqlite_with_rowid": False},
    )

    question: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


@chat_linked()
class Event(Base):
    """Something that happened in a chat that the clinic may need to know about: a safety
    answer, a tap on "I need help now", a held step, a severe side effect.

    ``kind`` is a short code (``safety-help``, ``hold``, ...); ``ref`` is an opaque detail
    such as a rule id or a step number, never the patient's words. Staff alerts read these rows
    for consenting patients. No foreign key to ``chats``: an event may come before the chat's
    first ``record_chat``."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


INBOX_STATES: Final = ("pending", "done", "failed")


@chat_linked()
class InboxUpdate(Base):
    """One update from Telegram, stored before Telegram is told we have it (store.inbox)."""

    __tablename__ = "inbox"
    __table_args__ = (
        CheckConstraint(_in("state", INBOX_STATES), name="state"),
        Index("ix_inbox_state_update_id", "state", "update_id"),
        Index("ix_inbox_chat_id_state", "chat_id", "state"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str | None] = mapped_column(Text)  # the update's JSON, until handled
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


_ID = BigInteger().with_variant(Integer(), "sqlite")


@chat_linked()
class RegimenRow(Base):
    """A patient's regimen: a copy of the plan's steps as chosen (JSON), start, time, zone,
    holds (JSON), pause state, and the next evening the scheduler will look at.

    ``next_due_at`` is that evening's reminder instant (NULL when stopped): each tick reads
    only the regimens whose ``next_due_at`` has come, through its index."""

    __tablename__ = "regimens"
    __table_args__ = (CheckConstraint(_in("state", REGIMEN_STATES), name="state"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    plan_name: Mapped[str] = mapped_column(String(32))
    plan_title: Mapped[str] = mapped_column(String(64))
    steps: Mapped[str] = mapped_column(Text)
    max_mg: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[date] = mapped_column(Date)
    remind_at: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    holds: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8))
    paused_until: Mapped[date | None] = mapped_column(Date)
    next_evening: Mapped[date] = mapped_column(Date)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


@chat_linked()
class PlanDraft(Base):
    """A half-finished /plan setup: a row, so a restart or another process continues it."""

    __tablename__ = "plan_drafts"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    stage: Mapped[str] = mapped_column(String(16))
    plan_name: Mapped[str | None] = mapped_column(String(32))
    start_date: Mapped[date | None] = mapped_column(Date)
    remind_at: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


@chat_linked()
class EveningRow(Base):
    """One evening of one patient: unique on (chat, local evening), so a reminder is claimed
    at most once. It records the dose it asked for, the delivery of the reminder and, apart
    from it, the outcome (an outage is never "missed")."""

    __tablename__ = "evenings"
    __table_args__ = (
        UniqueConstraint("chat_id", "evening"),
        CheckConstraint(_in("delivery", DELIVERIES), name="delivery"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        Index(None, "delivery", "due_at"),
        Index(None, "delivery", "outcome", "ends_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    evening: Mapped[date] = mapped_column(Date)
    dose_mg: Mapped[str] = mapped_column(String(8))
    previous_mg: Mapped[str | None] = mapped_column(String(8))
    step: Mapped[int] = mapped_column(Integer)
    step_up: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    label: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivery: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(8))
    outcome_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


@chat_linked()
class FollowupRow(Base):
    """A snooze or a nudge: a later message about an evening, due at ``due_at``, claimed like
    the reminder itself. Not an in-memory job, so a restart keeps it."""

    __tablename__ = "reminder_followups"
    __table_args__ = (
        UniqueConstraint("evening_id", "kind", "seq"),
        CheckConstraint(_in("kind", FOLLOWUP_KINDS), name="kind"),
        CheckConstraint(_in("delivery", DELIVERIES), name="delivery"),
        Index(None, "delivery", "due_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    evening_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("evenings.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivery: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)


# -- symptom check-ins (issue #9) ------------------------------------------------------------

CHECKIN_KINDS: Final = ("side_effects", "pain")
CHECKIN_ITEMS: Final = ("vivid_dreams", "sleep", "nausea", "headache", "mood", "none", "pain")
SEVERITIES: Final = ("mild", "bothering", "severe")


@chat_linked()
class CheckinRow(Base):
    """One symptom check-in asked of a patient (side effects a few days after a step-up, or
    the weekly pain score): unique on (chat, local evening, kind), claimed like a reminder, so
    it is never sent twice. ``due_at`` and ``expires_at`` bound when it may be sent (from the
    evening's reminder until that evening ends)."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("chat_id", "local_date", "kind"),
        CheckConstraint(_in("kind", CHECKIN_KINDS), name="kind"),
        CheckConstraint(_in("delivery", DELIVERIES), name="delivery"),
        Index(None, "delivery", "due_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    local_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    dose_mg: Mapped[str] = mapped_column(String(8))
    delivery: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(16))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)


@chat_linked()
class CheckinAnswerRow(Base):
    """One answer to a check-in: a side effect and how bad, "none", or the pain score. Unique
    on (check-in, item): a second tap on the same thing never makes a second row."""

    __tablename__ = "checkin_answers"
    __table_args__ = (
        UniqueConstraint("checkin_id", "item"),
        CheckConstraint(_in("item", CHECKIN_ITEMS), name="item"),
        CheckConstraint(f"severity IS NULL OR {_in('severity', SEVERITIES)}", name="severity"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score"),
        Index(None, "recorded_at"),
        Index(None, "chat_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    checkin_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("checkins.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    item: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


# -- clinic staff (issue #10) --------------------------------------------------------------

STAFF_ROLES: Final = ("admin", "staff")


class StaffMember(Base):
    """Someone an admin invited (``/join``). Staff listed in the config are not stored: the
    config is their source, so removing a line there removes them."""

    __tablename__ = "staff_members"
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(8))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
    added_by: Mapped[int | None] = mapped_column(BigInteger)  # an admin's user id; NULL: CLI


class StaffInvite(Base):
    """A one-time code that makes its sender staff: only its SHA-256 is kept."""

    __tablename__ = "staff_invites"
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_by: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """One staff action or refused attempt. Appended, never updated or deleted by the
    application. ``actor`` and ``subject`` name staff as ``staff:<user id>``, the command line
    as ``cli``, and patients only by their pseudonym (``p-...``), whose link to the chat is in
    :class:`Pseudonym`, which /forget deletes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(200))


@chat_linked()
class Pseudonym(Base):
    """A chat's (or a person's: a private chat's id is its user's id) name in the audit log.
    Random, not derived from the id, so that without this row it identifies nobody."""

    __tablename__ = "pseudonyms"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


@chat_linked()
class ConsentRow(Base):
    """Consent to share adherence and check-ins with the clinic: a history of grants and
    withdrawals; the latest row is the current answer."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    granted: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(16))  # "enrolment" or "privacy"


@chat_linked()
class ClinicRef(Base):
    """The clinic's own reference for a patient enrolled by link (e.g. "MRN 1234")."""

    __tablename__ = "clinic_refs"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ref: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime())


# -- enrolment links and broadcasts (issue #10) ----------------------------------------------

BROADCAST_STATES: Final = ("draft", "scheduled", "sending", "done", "cancelled")
BROADCAST_KINDS: Final = ("text", "photo", "document")
AUDIENCES: Final = ("all", "titrating", "plan")
# Delivery of one outbox row: the reminders' values, and "failed" once retries ran out.
OUTBOX_DELIVERIES: Final = (*DELIVERIES, "failed")


class EnrolmentCode(Base):
    """A one-time enrolment link made by staff: only its code's SHA-256 is kept. Which chat used
    it is not kept here (that link is :class:`ClinicRef`, which /forget deletes)."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    plan_name: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    ref: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # a staff user id; NULL: CLI
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


@chat_linked()
class EnrolmentPending(Base):
    """An enrolment link opened in a chat and not yet settled (replace the regimen? consent?):
    a row, so a restart or another process continues it."""

    __tablename__ = "enrolment_pending"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    enrolment_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("enrolment_codes.id", ondelete="CASCADE")
    )
    stage: Mapped[str] = mapped_column(String(16))  # "replace" or "consent"
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Broadcast(Base):
    """A message from the clinic to many patients: the conversation's draft (``draft`` with
    its ``stage``), then scheduled, sending, done or cancelled. The message is kept as Telegram
    sent it to us (text and entities, or a file_id and caption), so patients see exactly the
    preview."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(_in("state", BROADCAST_STATES), name="state"),
        CheckConstraint(_in("kind", BROADCAST_KINDS), name="kind"),
        CheckConstraint(f"audience IS NULL OR {_in('audience', AUDIENCES)}", name="audience"),
        Index(None, "state", "scheduled_for"),
        Index(None, "created_by", "state"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    created_by: Mapped[int] = mapped_column(BigInteger)  # the staff member's user id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(10))
    stage: Mapped[str | None] = mapped_column(String(16))  # of a draft
    kind: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)  # the text, or the caption
    entities: Mapped[str | None] = mapped_column(Text)  # JSON MessageEntity list
    file_id: Mapped[str | None] = mapped_column(String(256))
    audience: Mapped[str | None] = mapped_column(String(10))
    plan_name: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean(create_constraint=False))
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    total: Mapped[int | None] = mapped_column(Integer)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    reported: Mapped[bool] = mapped_column(Boolean(create_constraint=False))


@chat_linked()
class OutboxRow(Base):
    """One recipient of one broadcast: unique on (broadcast, chat), claimed like a reminder
    (``pending`` -> ``sending``, committed before the send)."""

    __tablename__ = "broadcast_outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "chat_id"),
        CheckConstraint(_in("delivery", OUTBOX_DELIVERIES), name="delivery"),
        Index(None, "delivery", "next_attempt_at"),
        Index(None, "broadcast_id", "delivery"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(_ID, ForeignKey("broadcasts.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    delivery: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set just before its request is made: a row claimed but never tried goes back to
    # pending after a crash; only one that was tried becomes unknown.
    attempted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(16))


# -- staff alerts, relays and reloads (issue #11) --------------------------------------------

# /stats reads every patient's evenings of a date range: a covering index, so the adherence
# figures scan the range rather than the whole table.
Index("ix_evenings_evening_outcome", EveningRow.evening, EveningRow.outcome)

ALERT_STATES: Final = ("open", "acknowledged", "withheld")
ALERT_DELIVERY_STATES: Final = ("pending", "sending", "sent", "blocked")
RELAY_STATES: Final = ("composing", "sent", "cancelled")
RELOAD_STATES: Final = ("pending", "done", "failed")


@chat_linked()
class AlertRow(Base):
    """One event turned into a staff alert: unique per event, so a restart or a second process
    never makes two. ``withheld`` when the patient had not agreed to share at the event's time:
    the row only marks the event as looked at, and is never shown. No words, only the event's
    kind and an opaque detail (a safety kind, a check-in item)."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_in("state", ALERT_STATES), name="state"),
        Index(None, "state", "id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(12))
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AlertDeliveryRow(Base):
    """An alert's message to one staff member, claimed like a reminder (pending -> sending ->
    sent); a send that failed goes back to pending with a later ``next_attempt_at``. About
    staff, not the patient: it goes with its alert (ON DELETE CASCADE), so /forget removes it
    and /mydata does not show a patient whom the clinic's alerts went to."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "staff_id"),
        CheckConstraint(_in("state", ALERT_DELIVERY_STATES), name="state"),
        Index(None, "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[int | None] = mapped_column(BigInteger)


@chat_linked()
class RelayRow(Base):
    """A staff member's message to a patient through the bot: ``composing`` until their next
    text, then ``sent``; the patient's replies to it come back while ``reply_until`` lasts.
    A row, not memory, so a restart or another process carries on. Never the text."""

    __tablename__ = "relays"
    __table_args__ = (
        CheckConstraint(_in("state", RELAY_STATES), name="state"),
        Index(None, "staff_id", "state"),
        Index(None, "chat_id", "patient_message_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)  # the patient's
    staff_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int | None] = mapped_column(_ID)
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    compose_until: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    patient_message_id: Mapped[int | None] = mapped_column(BigInteger)
    reply_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    replies: Mapped[int] = mapped_column(Integer)


class ReloadRequestRow(Base):
    """A request to reload the knowledge base and plans (``ldn-bot reload``, /reload): every
    running process applies each new one; the result says what the files gave."""

    __tablename__ = "reload_requests"
    __table_args__ = (CheckConstraint(_in("state", RELOAD_STATES), name="state"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    requested_by: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(8))
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[str | None] = mapped_column(Text)
