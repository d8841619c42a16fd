"""Broadcasts: the /broadcast conversation's draft (a row, so a restart or another process
continues it), scheduling, cancelling, and who a broadcast reaches. The per-recipient outbox
and its claims are in :mod:`store.outbox`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update

from .base import StoreBase, _aware
from .models import (
    AUDIENCES,
    BROADCAST_KINDS,
    Broadcast,
    Chat,
    ChatPreference,
    OutboxRow,
    RegimenRow,
)
from .records import _stored

UPDATES_KEY = "updates"  # chat preference: "off" when the patient turned clinic updates off
_EDITABLE = frozenset(
    {"stage", "kind", "text", "entities", "file_id", "audience", "plan_name", "urgent"}
)


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    id: int
    created_by: int
    created_at: datetime
    state: str
    stage: str | None
    kind: str
    text: str | None
    entities: str | None
    file_id: str | None
    audience: str | None
    plan_name: str | None
    urgent: bool
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    total: int | None
    progress_message_id: int | None


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast goes to: ``kind`` all, titrating, or plan (with ``plan_name``)."""

    kind: str
    plan_name: str | None = None
    urgent: bool = False  # an urgent notice also reaches those who turned updates off

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCES or (self.kind == "plan") != bool(self.plan_name):
            raise ValueError(f"bad audience {self.kind!r} / {self.plan_name!r}")


_COLUMNS = tuple(getattr(Broadcast, name) for name in BroadcastRecord.__slots__)


def _record(row: Any) -> BroadcastRecord:
    values = list(row)
    values[11] = bool(values[11])
    return BroadcastRecord(*values)


def titrating(stored_row: Any, now: datetime) -> bool:
    """The regimen's current step is before its plan's last one (or it has not started)."""
    regimen = _stored(stored_row).regimen
    tonight = regimen.tonight(regimen.evening_of(now))
    return tonight is None or not tonight.maintenance


class BroadcastQueries(StoreBase):
    # -- the conversation's draft ------------------------------------------------------------

    def new_broadcast_draft(self, created_by: int, now: datetime) -> BroadcastRecord:
        """Start a draft for ``created_by``; an older unfinished draft of theirs is dropped."""
        with self._write() as conn:
            conn.execute(
                update(Broadcast)
                .where(Broadcast.created_by == created_by, Broadcast.state == "draft")
                .values(state="cancelled", stage=None)
            )
            bid = conn.execute(
                insert(Broadcast)
                .values(
                    created_by=created_by,
                    created_at=_aware(now),
                    state="draft",
                    stage="message",
                    kind="text",
                    urgent=False,
                    reported=False,
                )
                .returning(Broadcast.id)
            ).scalar_one()
        found = self.get_broadcast(int(bid))
        assert found is not None
        return found

    def current_draft(self, created_by: int) -> BroadcastRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*_COLUMNS)
                .where(Broadcast.created_by == created_by, Broadcast.state == "draft")
                .order_by(Broadcast.id.desc())
                .limit(1)
            ).one_or_none()
        return _record(row) if row is not None else None

    def update_draft(self, broadcast_id: int, **values: Any) -> BroadcastRecord | None:
        """Change a draft's fields (None when it is no longer a draft)."""
        if not values.keys() <= _EDITABLE:
            raise ValueError(f"not editable: {sorted(values.keys() - _EDITABLE)}")
        if "kind" in values and values["kind"] not in BROADCAST_KINDS:
            raise ValueError(f"kind must be one of {BROADCAST_KINDS}")
        with self._write() as conn:
            changed = conn.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == "draft")
                .values(values)
            ).rowcount
        return self.get_broadcast(broadcast_id) if changed else None

    def get_broadcast(self, broadcast_id: int) -> BroadcastRecord | None:
        with self._read() as conn:
            row = conn.execute(select(*_COLUMNS).where(Broadcast.id == broadcast_id)).one_or_none()
        return _record(row) if row is not None else None

    def recent_broadcasts(self, limit: int = 10) -> list[BroadcastRecord]:
        """Broadcasts past the draft stage, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_COLUMNS)
                .where(Broadcast.state != "draft", Broadcast.started_at.is_not(None)
                       | Broadcast.scheduled_for.is_not(None))
                .order_by(Broadcast.id.desc())
                .limit(limit)
            ).all()  # fmt: skip
        return [_record(r) for r in rows]

    def schedule_broadcast(self, broadcast_id: int, when: datetime) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id, Broadcast.state == "draft")
                    .values(state="scheduled", stage=None, scheduled_for=_aware(when))
                ).rowcount
            )

    def cancel_broadcast(self, broadcast_id: int, now: datetime) -> str | None:
        """Cancel a draft, a scheduled or an in-flight broadcast: rows not yet claimed are not
        sent. Returns the state it was in, or None when there was nothing to cancel."""
        _aware(now)
        with self._write() as conn:
            state = conn.scalar(
                select(Broadcast.state).where(Broadcast.id == broadcast_id).with_for_update()
            )
            if state not in ("draft", "scheduled", "sending"):
                return None
            conn.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.state == state)
                .values(state="cancelled", stage=None, finished_at=now)
            )
            conn.execute(
                update(OutboxRow)
                .where(OutboxRow.broadcast_id == broadcast_id, OutboxRow.delivery == "pending")
                .values(delivery="not_sent", note="cancelled")
            )
        return str(state)

    # -- the audience ------------------------------------------------------------------------

    def audience(
        self, audience: Audience, now: datetime, exclude: Collection[int] = ()
    ) -> list[int]:
        """The chats a broadcast to ``audience`` would reach now: started the bot, private,
        reachable, not stopped, not opted out of updates (unless urgent), not in ``exclude``."""
        with self._read() as conn:
            return select_audience(conn, audience, _aware(now), exclude)


def select_audience(
    conn: Connection, audience: Audience, now: datetime, exclude: Collection[int]
) -> list[int]:
    """The chats a broadcast to ``audience`` reaches now (see :meth:`BroadcastQueries.audience`)."""
    chats = select(Chat.chat_id).where(
        Chat.started.is_(True), Chat.unreachable_since.is_(None), Chat.kind == "private"
    )
    if not audience.urgent:
        chats = chats.where(
            ~exists().where(
                ChatPreference.chat_id == Chat.chat_id,
                ChatPreference.key == UPDATES_KEY,
                ChatPreference.value == "off",
            )
        )
    stopped = select(RegimenRow.chat_id).where(RegimenRow.state == "stopped")
    chats = chats.where(Chat.chat_id.not_in(stopped))
    if audience.kind == "all":
        found = set(conn.scalars(chats))
    else:
        regimens = select(RegimenRow).where(
            RegimenRow.chat_id.in_(chats), RegimenRow.state != "stopped"
        )
        if audience.kind == "plan":
            regimens = regimens.where(RegimenRow.plan_name == audience.plan_name)
        rows = conn.execute(regimens).all()
        found = {row.chat_id for row in rows if audience.kind == "plan" or titrating(row, now)}
    return sorted(found - set(exclude))
