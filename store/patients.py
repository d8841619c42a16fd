"""What the clinic knows about a patient enrolled by link: its reference, and the consent to
share adherence and check-ins (a history of grants and withdrawals, the latest one counts).

A patient who set up reminders alone (/plan) has neither and shares nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from .base import StoreBase, _aware
from .models import ClinicRef, ConsentRow

MAX_REF = 64
CONSENT_SOURCES = ("enrolment", "privacy")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    granted: bool
    at: datetime
    source: str


class PatientQueries(StoreBase):
    def record_consent(self, chat_id: int, granted: bool, now: datetime, source: str) -> None:
        """Append a grant or a withdrawal."""
        if source not in CONSENT_SOURCES:
            raise ValueError(f"consent source must be one of {CONSENT_SOURCES}")
        with self._write() as conn:
            conn.execute(
                insert(ConsentRow).values(
                    chat_id=chat_id, granted=granted, at=_aware(now), source=source
                )
            )

    def consent_history(self, chat_id: int) -> list[ConsentRecord]:
        """Every answer the chat gave, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(ConsentRow.granted, ConsentRow.at, ConsentRow.source)
                .where(ConsentRow.chat_id == chat_id)
                .order_by(ConsentRow.id)
            ).all()
        return [ConsentRecord(bool(r.granted), r.at, r.source) for r in rows]

    def has_consent(self, chat_id: int) -> bool:
        """Whether the chat's latest answer is a grant (no answer: no)."""
        with self._read() as conn:
            granted = conn.scalar(
                select(ConsentRow.granted)
                .where(ConsentRow.chat_id == chat_id)
                .order_by(ConsentRow.id.desc())
                .limit(1)
            )
        return bool(granted)

    def consenting_chats(self) -> list[int]:
        """Chats whose latest answer is a grant, by chat id."""
        latest = select(func.max(ConsentRow.id)).group_by(ConsentRow.chat_id).scalar_subquery()
        with self._read() as conn:
            return sorted(
                int(c)
                for c in conn.scalars(
                    select(ConsentRow.chat_id).where(
                        ConsentRow.id.in_(latest), ConsentRow.granted.is_(True)
                    )
                )
            )

    def link_clinic_ref(self, chat_id: int, ref: str, now: datetime) -> None:
        """Link the clinic's reference to the chat (a new enrolment replaces it)."""
        ref = ref.strip()
        if not ref or len(ref) > MAX_REF:
            raise ValueError(f"a clinic reference must be 1-{MAX_REF} characters")
        values = {"chat_id": chat_id, "ref": ref, "linked_at": _aware(now)}
        with self._write() as conn:
            conn.execute(
                self._upsert(
                    ClinicRef,
                    values,
                    [ClinicRef.chat_id],
                    lambda excluded: {
                        ClinicRef.ref: excluded.ref,
                        ClinicRef.linked_at: excluded.linked_at,
                    },
                )
            )

    def clinic_ref(self, chat_id: int) -> str | None:
        with self._read() as conn:
            ref = conn.scalar(select(ClinicRef.ref).where(ClinicRef.chat_id == chat_id))
        return str(ref) if ref is not None else None
