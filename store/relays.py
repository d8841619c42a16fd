"""Relays (a staff member's message to a patient, and the patient's replies) and reload
requests. Rows, not memory: a restart or a second process carries on. No text is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from .base import StoreBase, _aware
from .models import RelayRow, ReloadRequestRow


@dataclass(frozen=True, slots=True)
class RelayRecord:
    id: int
    chat_id: int  # the patient's
    staff_id: int
    alert_id: int | None
    state: str
    created_at: datetime
    compose_until: datetime
    sent_at: datetime | None
    patient_message_id: int | None
    reply_until: datetime | None
    replies: int


@dataclass(frozen=True, slots=True)
class ReloadRecord:
    id: int
    requested_at: datetime
    requested_by: str
    state: str
    handled_at: datetime | None
    result: str | None


_RELAY = select(
    RelayRow.id,
    RelayRow.chat_id,
    RelayRow.staff_id,
    RelayRow.alert_id,
    RelayRow.state,
    RelayRow.created_at,
    RelayRow.compose_until,
    RelayRow.sent_at,
    RelayRow.patient_message_id,
    RelayRow.reply_until,
    RelayRow.replies,
)
_RELOAD = select(
    ReloadRequestRow.id,
    ReloadRequestRow.requested_at,
    ReloadRequestRow.requested_by,
    ReloadRequestRow.state,
    ReloadRequestRow.handled_at,
    ReloadRequestRow.result,
)


def _relay(row: Any) -> RelayRecord:
    return RelayRecord(*row)


class RelayQueries(StoreBase):
    # -- relays ----------------------------------------------------------------------------

    def start_relay(
        self, staff_id: int, chat_id: int, now: datetime, compose: timedelta, *, alert_id: int
    ) -> int:
        """The staff member's next text goes to the patient: one composing relay per staff
        member (an earlier one still composing is cancelled). Returns its id."""
        _aware(now)
        with self._write() as conn:
            conn.execute(
                update(RelayRow)
                .where(RelayRow.staff_id == staff_id, RelayRow.state == "composing")
                .values(state="cancelled")
            )
            return int(
                conn.execute(
                    insert(RelayRow)
                    .values(
                        chat_id=chat_id,
                        staff_id=staff_id,
                        alert_id=alert_id,
                        state="composing",
                        created_at=now,
                        compose_until=now + compose,
                        replies=0,
                    )
                    .returning(RelayRow.id)
                ).scalar_one()
            )

    def composing_relay(self, staff_id: int, now: datetime) -> RelayRecord | None:
        """The staff member's relay waiting for their text, if it has not expired."""
        _aware(now)
        with self._read() as conn:
            row = conn.execute(
                _RELAY.where(
                    RelayRow.staff_id == staff_id,
                    RelayRow.state == "composing",
                    RelayRow.compose_until > now,
                )
                .order_by(RelayRow.id.desc())
                .limit(1)
            ).one_or_none()
        return _relay(row) if row is not None else None

    def get_relay(self, relay_id: int) -> RelayRecord | None:
        with self._read() as conn:
            row = conn.execute(_RELAY.where(RelayRow.id == relay_id)).one_or_none()
        return _relay(row) if row is not None else None

    def cancel_relay(self, relay_id: int, staff_id: int) -> bool:
        with self._write() as conn:
            result = conn.execute(
                update(RelayRow)
                .where(
                    RelayRow.id == relay_id,
                    RelayRow.staff_id == staff_id,
                    RelayRow.state == "composing",
                )
                .values(state="cancelled")
            )
        return bool(result.rowcount)

    def claim_relay(self, relay_id: int, now: datetime) -> bool:
        """Composing -> sent, before the send: a replayed update never sends it twice."""
        _aware(now)
        with self._write() as conn:
            result = conn.execute(
                update(RelayRow)
                .where(RelayRow.id == relay_id, RelayRow.state == "composing")
                .values(state="sent", sent_at=now)
            )
        return bool(result.rowcount)

    def relay_delivered(
        self, relay_id: int, message_id: int | None, reply_until: datetime | None
    ) -> None:
        """The relayed message's id in the patient's chat, and until when replies go back;
        ``message_id`` None: it could not be delivered, the staff member may write again."""
        with self._write() as conn:
            if message_id is None:
                conn.execute(
                    update(RelayRow)
                    .where(RelayRow.id == relay_id)
                    .values(state="composing", sent_at=None)
                )
                return
            conn.execute(
                update(RelayRow)
                .where(RelayRow.id == relay_id)
                .values(patient_message_id=message_id, reply_until=reply_until)
            )

    def relay_for_reply(
        self, chat_id: int, reply_to_message_id: int, now: datetime, *, closed_too: bool = False
    ) -> RelayRecord | None:
        """The relay a patient's reply answers, while its reply window lasts (``closed_too``:
        after it too, so the patient can be told that their reply was not passed on)."""
        _aware(now)
        stmt = _RELAY.where(
            RelayRow.chat_id == chat_id,
            RelayRow.patient_message_id == reply_to_message_id,
            RelayRow.state == "sent",
        )
        if not closed_too:
            stmt = stmt.where(RelayRow.reply_until > now)
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        return _relay(row) if row is not None else None

    def count_relay_reply(self, relay_id: int) -> None:
        with self._write() as conn:
            conn.execute(
                update(RelayRow).where(RelayRow.id == relay_id).values(replies=RelayRow.replies + 1)
            )

    # -- reload requests -------------------------------------------------------------------

    def request_reload(self, now: datetime, requested_by: str) -> int:
        """Ask every running bot process to reload the knowledge base and the plans."""
        _aware(now)
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(ReloadRequestRow)
                    .values(requested_at=now, requested_by=requested_by[:32], state="pending")
                    .returning(ReloadRequestRow.id)
                ).scalar_one()
            )

    def latest_reload_id(self) -> int:
        """The newest request's id (0 when there is none): a process applies those above the
        one it has seen."""
        with self._read() as conn:
            return int(conn.execute(select(func.max(ReloadRequestRow.id))).scalar_one() or 0)

    def get_reload(self, request_id: int) -> ReloadRecord | None:
        with self._read() as conn:
            row = conn.execute(_RELOAD.where(ReloadRequestRow.id == request_id)).one_or_none()
        return ReloadRecord(*row) if row is not None else None

    def finish_reload(self, request_id: int, now: datetime, *, ok: bool, result: str) -> None:
        """Record what a process made of the request (the last one to finish wins)."""
        _aware(now)
        with self._write() as conn:
            conn.execute(
                update(ReloadRequestRow)
                .where(ReloadRequestRow.id == request_id)
                .values(state="done" if ok else "failed", handled_at=now, result=result)
            )
