"""Symptom check-ins' tables (issue #9), registered on :class:`store.models_base.Base`;
:mod:`store.models` re-exports them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
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
