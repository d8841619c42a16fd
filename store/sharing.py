"""Consent at a moment, and how staff name patients, read in bulk for alerts and exports.

Consent is a history (``consents``: grants and withdrawals, never updated); what counts at a
moment is the latest answer given at or before it, and no answer means no. An alert needs it
at the event's moment, an export at each evening's.
"""

from __future__ import annotations

import secrets
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .base import StoreBase, _aware
from .models import ClinicRef, ConsentRow, Pseudonym

CHUNK = 500


@dataclass(frozen=True, slots=True)
class ConsentTimeline:
    """One chat's consent answers in time order, asked "did they share at this moment?"."""

    times: tuple[datetime, ...] = ()
    granted: tuple[bool, ...] = ()

    def at(self, when: datetime) -> bool:
        index = bisect_right(self.times, when)
        return bool(index) and self.granted[index - 1]

    @property
    def ever(self) -> bool:
        return any(self.granted)


class SharingQueries(StoreBase):
    def shared_at(self, chat_id: int, when: datetime) -> bool:
        """Whether the chat's latest consent answer at or before `when` is a grant."""
        _aware(when)
        with self._read() as conn:
            granted = conn.scalar(
                select(ConsentRow.granted)
                .where(ConsentRow.chat_id == chat_id, ConsentRow.at <= when)
                .order_by(ConsentRow.at.desc(), ConsentRow.id.desc())
                .limit(1)
            )
        return bool(granted)

    def consent_timelines(self, chat_ids: Sequence[int]) -> dict[int, ConsentTimeline]:
        """Each chat's consent history (chats that never answered are left out)."""
        found: dict[int, tuple[list[datetime], list[bool]]] = {}
        with self._read() as conn:
            for start in range(0, len(chat_ids), CHUNK):
                rows = conn.execute(
                    select(ConsentRow.chat_id, ConsentRow.at, ConsentRow.granted)
                    .where(ConsentRow.chat_id.in_(list(chat_ids[start : start + CHUNK])))
                    .order_by(ConsentRow.chat_id, ConsentRow.at, ConsentRow.id)
                )
                for row in rows:
                    times, granted = found.setdefault(row.chat_id, ([], []))
                    times.append(row.at)
                    granted.append(bool(row.granted))
        return {c: ConsentTimeline(tuple(t), tuple(g)) for c, (t, g) in found.items()}

    def chats_that_ever_shared(self) -> list[int]:
        """Chats with at least one grant, by id: the only ones an export can include."""
        with self._read() as conn:
            return sorted(
                int(c)
                for c in conn.scalars(
                    select(ConsentRow.chat_id).where(ConsentRow.granted.is_(True)).distinct()
                )
            )

    def ensure_pseudonyms(self, chat_ids: Sequence[int], now: datetime) -> None:
        """Give every chat its audit pseudonym (as :meth:`store.audit.AuditQueries.pseudonym`
        does one at a time), in one write for many chats; existing ones are kept."""
        _aware(now)
        with self._read() as conn:
            have = set(
                conn.scalars(select(Pseudonym.chat_id).where(Pseudonym.chat_id.in_(list(chat_ids))))
            )
        missing = [c for c in chat_ids if c not in have]
        if not missing:
            return
        values = [
            {"chat_id": c, "pseudonym": f"p-{secrets.token_hex(5)}", "created_at": now}
            for c in missing
        ]
        with self._write() as conn:
            stmt: Any
            if conn.dialect.name == "postgresql":
                stmt = postgresql.insert(Pseudonym).on_conflict_do_nothing()
            else:
                stmt = sqlite.insert(Pseudonym).on_conflict_do_nothing()
            conn.execute(stmt, values)

    def staff_names_for(self, chat_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        """(clinic reference, pseudonym) of each chat, where they exist (none is made here)."""
        names: dict[int, tuple[str | None, str | None]] = {c: (None, None) for c in chat_ids}
        with self._read() as conn:
            for start in range(0, len(chat_ids), CHUNK):
                part = list(chat_ids[start : start + CHUNK])
                for chat_id, ref in conn.execute(
                    select(ClinicRef.chat_id, ClinicRef.ref).where(ClinicRef.chat_id.in_(part))
                ):
                    names[chat_id] = (ref, names[chat_id][1])
                for chat_id, pseudonym in conn.execute(
                    select(Pseudonym.chat_id, Pseudonym.pseudonym).where(
                        Pseudonym.chat_id.in_(part)
                    )
                ):
                    names[chat_id] = (names[chat_id][0], pseudonym)
        return names
