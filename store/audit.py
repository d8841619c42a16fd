"""The audit log of staff actions, and the pseudonyms that name patients in it.

The application only appends to ``audit_log``: no method here updates or deletes a row.
Patients appear only as a pseudonym (``p-`` and ten random hex digits); the pseudonym's link to
the chat is a chat-linked row, so /forget deletes the link and leaves the log intact and no
longer identifying.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from .base import StoreBase, _aware
from .models import AuditEntry, Pseudonym

MAX_ACTOR = 40
MAX_ACTION = 40
MAX_SUBJECT = 64
MAX_DETAIL = 200


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    detail: str | None


def staff_name(user_id: int) -> str:
    """How a staff member is named in the audit log."""
    return f"staff:{user_id}"


class AuditQueries(StoreBase):
    def append_audit(
        self,
        actor: str,
        action: str,
        now: datetime,
        *,
        subject: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Append one entry; returns its id. Never put patients' words or chat ids here."""
        if not actor or len(actor) > MAX_ACTOR or not action or len(action) > MAX_ACTION:
            raise ValueError("audit actor and action must be 1-40 characters")
        if subject is not None and len(subject) > MAX_SUBJECT:
            raise ValueError(f"audit subject must be at most {MAX_SUBJECT} characters")
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(AuditEntry)
                    .values(
                        at=_aware(now),
                        actor=actor,
                        action=action,
                        subject=subject,
                        detail=detail[:MAX_DETAIL] if detail is not None else None,
                    )
                    .returning(AuditEntry.id)
                ).scalar_one()
            )

    def audit_entries(
        self, *, since: datetime | None = None, limit: int = 100, action: str | None = None
    ) -> list[AuditRecord]:
        """The most recent entries (at most ``limit``), oldest first."""
        stmt = (
            select(
                AuditEntry.id,
                AuditEntry.at,
                AuditEntry.actor,
                AuditEntry.action,
                AuditEntry.subject,
                AuditEntry.detail,
            )
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= _aware(since))
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [
            AuditRecord(r.id, r.at, r.actor, r.action, r.subject, r.detail) for r in reversed(rows)
        ]

    def pseudonym(self, chat_id: int, now: datetime) -> str:
        """The chat's pseudonym, made on first use (concurrent callers get the same one)."""
        with self._read() as conn:
            found = conn.scalar(select(Pseudonym.pseudonym).where(Pseudonym.chat_id == chat_id))
        if found is not None:
            return str(found)
        values = {
            "chat_id": chat_id,
            "pseudonym": f"p-{secrets.token_hex(5)}",
            "created_at": _aware(now),
        }
        with self._write() as conn:
            stmt: Any
            if conn.dialect.name == "postgresql":
                stmt = postgresql.insert(Pseudonym).values(values).on_conflict_do_nothing()
            else:
                stmt = sqlite.insert(Pseudonym).values(values).on_conflict_do_nothing()
            conn.execute(stmt)
            return str(conn.scalar(select(Pseudonym.pseudonym).where(Pseudonym.chat_id == chat_id)))

    def chat_of_pseudonym(self, pseudonym: str) -> int | None:
        """The chat behind a pseudonym, or None (unknown, or forgotten)."""
        with self._read() as conn:
            found = conn.scalar(select(Pseudonym.chat_id).where(Pseudonym.pseudonym == pseudonym))
        return int(found) if found is not None else None
