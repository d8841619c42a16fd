"""Enrolment links: one-time codes (hashes only) that set up a patient's plan and start date
and link the clinic's reference, and the chat's not-yet-settled enrolment.

Opening a link claims its code with one ``UPDATE ... WHERE used_at IS NULL AND expires_at >
now``, in the same transaction that links the reference and records the pending enrolment,
so a code serves one chat once, whoever races for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import delete, insert, select, update

from .base import StoreBase, _aware
from .models import ClinicRef, EnrolmentCode, EnrolmentPending

PENDING_STAGES = ("replace", "consent")


class Opened(StrEnum):
    OPENED = "opened"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class Enrolment:
    id: int
    plan_name: str
    start_date: date
    ref: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenResult:
    result: Opened
    enrolment: Enrolment | None = None


@dataclass(frozen=True, slots=True)
class PendingEnrolment:
    chat_id: int
    stage: str
    enrolment: Enrolment


_COLUMNS = (
    EnrolmentCode.id,
    EnrolmentCode.plan_name,
    EnrolmentCode.start_date,
    EnrolmentCode.ref,
    EnrolmentCode.expires_at,
)


class EnrolmentQueries(StoreBase):
    def create_enrolment(
        self,
        code_hash: str,
        plan_name: str,
        start_date: date,
        now: datetime,
        expires_at: datetime,
        *,
        ref: str | None = None,
        created_by: int | None = None,
    ) -> int:
        """Store a new enrolment code (its hash); returns its id."""
        if len(code_hash) != 64:
            raise ValueError("code_hash must be a SHA-256 hex digest")
        if ref is not None and not 1 <= len(ref) <= 64:
            raise ValueError("a clinic reference must be 1-64 characters")
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(EnrolmentCode)
                    .values(
                        code_hash=code_hash,
                        plan_name=plan_name,
                        start_date=start_date,
                        ref=ref,
                        created_by=created_by,
                        created_at=_aware(now),
                        expires_at=_aware(expires_at),
                    )
                    .returning(EnrolmentCode.id)
                ).scalar_one()
            )

    def open_enrolment(
        self, code_hash: str, chat_id: int, now: datetime, *, stage: str
    ) -> OpenResult:
        """Use the code for ``chat_id``: link its reference and make it the chat's pending
        enrolment at ``stage`` ("replace" when the chat already has a regimen)."""
        if stage not in PENDING_STAGES:
            raise ValueError(f"stage must be one of {PENDING_STAGES}")
        _aware(now)
        with self._write() as conn:
            row = conn.execute(
                update(EnrolmentCode)
                .where(
                    EnrolmentCode.code_hash == code_hash,
                    EnrolmentCode.used_at.is_(None),
                    EnrolmentCode.expires_at > now,
                )
                .values(used_at=now)
                .returning(*_COLUMNS)
            ).one_or_none()
            if row is None:
                used = conn.execute(
                    select(EnrolmentCode.used_at, *_COLUMNS).where(
                        EnrolmentCode.code_hash == code_hash
                    )
                ).one_or_none()
                if used is None:
                    return OpenResult(Opened.UNKNOWN)
                if used.used_at is None:
                    return OpenResult(Opened.EXPIRED)
                # Which enrolment: the chat that opened it may still have its step to answer.
                return OpenResult(Opened.USED, Enrolment(*used[1:]))
            enrolment = Enrolment(*row)
            conn.execute(delete(EnrolmentPending).where(EnrolmentPending.chat_id == chat_id))
            conn.execute(
                insert(EnrolmentPending).values(
                    chat_id=chat_id, enrolment_id=enrolment.id, stage=stage, created_at=now
                )
            )
            if enrolment.ref is not None:
                conn.execute(
                    self._upsert(
                        ClinicRef,
                        {"chat_id": chat_id, "ref": enrolment.ref, "linked_at": now},
                        [ClinicRef.chat_id],
                        lambda excluded: {
                            ClinicRef.ref: excluded.ref,
                            ClinicRef.linked_at: excluded.linked_at,
                        },
                    )
                )
        return OpenResult(Opened.OPENED, enrolment)

    def pending_enrolment(self, chat_id: int) -> PendingEnrolment | None:
        with self._read() as conn:
            row = conn.execute(
                select(EnrolmentPending.stage, *_COLUMNS)
                .join(EnrolmentCode, EnrolmentCode.id == EnrolmentPending.enrolment_id)
                .where(EnrolmentPending.chat_id == chat_id)
            ).one_or_none()
        if row is None:
            return None
        return PendingEnrolment(chat_id, row[0], Enrolment(*row[1:]))

    def settle_enrolment(self, chat_id: int, from_stage: str, to_stage: str | None) -> bool:
        """Move the chat's pending enrolment on (``to_stage`` None: done). False when it was
        not at ``from_stage`` (a second tap, or another process got there first)."""
        with self._write() as conn:
            where = (
                EnrolmentPending.chat_id == chat_id,
                EnrolmentPending.stage == from_stage,
            )
            if to_stage is None:
                return bool(conn.execute(delete(EnrolmentPending).where(*where)).rowcount)
            return bool(
                conn.execute(update(EnrolmentPending).where(*where).values(stage=to_stage)).rowcount
            )
