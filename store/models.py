"""Declarative models: the single source of truth the Alembic migrations must reproduce.

Every timestamp column is :class:`UtcDateTime`: it accepts only timezone-aware datetimes,
stores them in UTC and always gives back aware UTC datetimes, on SQLite as on PostgreSQL.

Tables that hold anything about a chat are registered with :func:`chat_linked` so that
``Store.forget_chat`` and ``Store.rows_about_chat`` cover them; a new table with a ``chat_id``
column must carry the decorator (a test fails otherwise).

The foundation (base, types, registry) is in :mod:`store.models_base`, the check-in tables in
:mod:`store.models_checkins` and the clinic-staff tables in :mod:`store.models_staff`; all are
re-exported here, so `from store.models import X` works for every table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models_base import (
    _ID,
    CHAT_KINDS,
    CHAT_LINKED_TABLES,
    DELIVERIES,
    FOLLOWUP_KINDS,
    NAMING_CONVENTION,
    OUTCOMES,
    REGIMEN_STATES,
    UNANSWERED_STATUSES,
    Base,
    ChatLink,
    UtcDateTime,
    _in,
    chat_linked,
    register_chat_table,
)
from .models_checkins import CHECKIN_ITEMS, CHECKIN_KINDS, SEVERITIES, CheckinAnswerRow, CheckinRow
from .models_staff import (
    AUDIENCES,
    BROADCAST_KINDS,
    BROADCAST_STATES,
    OUTBOX_DELIVERIES,
    STAFF_ROLES,
    AuditEntry,
    Broadcast,
    ClinicRef,
    ConsentRow,
    EnrolmentCode,
    EnrolmentPending,
    OutboxRow,
    Pseudonym,
    StaffInvite,
    StaffMember,
)


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
