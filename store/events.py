"""Events: a chat's notable moments (safety help, held steps, severe side effects).

Rows name a kind and an opaque ref, never the patient's words; /forget deletes them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from .base import StoreBase, _aware
from .models import Event

MAX_KIND = 32
MAX_REF = 64
_COLUMNS = select(Event.id, Event.chat_id, Event.user_id, Event.kind, Event.ref, Event.occurred_at)


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: int
    chat_id: int
    user_id: int | None
    kind: str
    ref: str | None
    occurred_at: datetime


class EventQueries(StoreBase):
    def record_event(
        self,
        chat_id: int,
        kind: str,
        now: datetime,
        *,
        user_id: int | None = None,
        ref: str | None = None,
    ) -> int:
        """Append an event; returns its id."""
        if not kind or len(kind) > MAX_KIND:
            raise ValueError(f"event kind must be 1-{MAX_KIND} characters, got {kind!r}")
        if ref is not None and len(ref) > MAX_REF:
            raise ValueError(f"event ref must be at most {MAX_REF} characters")
        _aware(now)
        with self._write() as conn:
            result = conn.execute(
                insert(Event)
                .values(chat_id=chat_id, user_id=user_id, kind=kind, ref=ref, occurred_at=now)
                .returning(Event.id)
            )
            return int(result.scalar_one())

    def get_event(self, event_id: int) -> EventRecord | None:
        with self._read() as conn:
            row = conn.execute(_COLUMNS.where(Event.id == event_id)).one_or_none()
            return EventRecord(*row) if row is not None else None

    def has_event_between(
        self, chat_id: int, kind: str, ref: str | None, start: datetime, end: datetime
    ) -> bool:
        """Whether the chat has an event of this kind and ref from ``start`` up to ``end``."""
        stmt = select(Event.id).where(
            Event.chat_id == chat_id,
            Event.kind == kind,
            Event.ref.is_(None) if ref is None else Event.ref == ref,
            Event.occurred_at >= _aware(start),
            Event.occurred_at <= _aware(end),
        )
        with self._read() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    def events_for_chat(
        self, chat_id: int, kinds: Collection[str] | None = None
    ) -> list[EventRecord]:
        """The chat's events, oldest first, optionally only of the given kinds."""
        stmt = _COLUMNS.where(Event.chat_id == chat_id)
        if kinds is not None:
            stmt = stmt.where(Event.kind.in_(list(kinds)))
        with self._read() as conn:
            return [EventRecord(*row) for row in conn.execute(stmt.order_by(Event.id))]
