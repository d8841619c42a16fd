"""Clinic staff's tables (issue #10): staff, invitations, the audit log and its pseudonyms,
consent, clinic references, enrolment links, broadcasts and their outbox. Registered on
:class:`store.models_base.Base`; :mod:`store.models` re-exports them."""

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
    DELIVERIES,
    Base,
    UtcDateTime,
    _in,
    chat_linked,
)

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
