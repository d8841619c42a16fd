"""Staff alerts: events turned into alerts, their deliveries to staff, acknowledgement.

* An alert is a row unique per event (``INSERT ... ON CONFLICT (event_id) DO NOTHING``), so a
  restart or a second process never makes two. An event of a patient who had not agreed to
  share at its time gets a ``withheld`` row: looked at, never shown, never sent.
* Each recipient's message is a delivery row, claimed like a reminder (pending -> sending,
  committed before the send). A send that failed goes back to pending with a later attempt
  time; a claim left ``sending`` by a dead process is sent again (a staff member seeing an
  alert twice is better than not at all).
* A missed-run event (``missed-3``) is written where evenings are closed as missed
  (:func:`record_missed_runs`, called by :meth:`store.reminders.ReminderQueries.close_missed`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reminders.adherence import EveningMark, completes_missed_run

from .base import StoreBase, _aware
from .events import EventRecord
from .models import AlertDeliveryRow, AlertRow, EveningRow, Event

MISSED_3 = "missed-3"
# How far back evenings are read to find a run of missed ones: pauses and outages between
# them are passed over, but three missed evenings spread over more than two weeks are not a
# run worth an alert (and the nightly close reads no more than it needs).
RUN_LOOKBACK = timedelta(days=14)
# Retries of an undelivered alert: 1, 2, 5, 10, 30 minutes, then every hour.
RETRY_MINUTES = (1, 2, 5, 10, 30, 60)
DELIVERY_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    event_id: int
    chat_id: int
    kind: str
    detail: str | None
    occurred_at: datetime
    created_at: datetime
    state: str
    acknowledged_by: int | None
    acknowledged_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One claimed message of an alert to one staff member."""

    id: int
    staff_id: int
    attempts: int
    alert: AlertRecord


_ALERT_COLUMNS = (
    AlertRow.id,
    AlertRow.event_id,
    AlertRow.chat_id,
    AlertRow.kind,
    AlertRow.detail,
    AlertRow.occurred_at,
    AlertRow.created_at,
    AlertRow.state,
    AlertRow.acknowledged_by,
    AlertRow.acknowledged_at,
)


def _alert(row: Any) -> AlertRecord:
    return AlertRecord(*tuple(row)[: len(_ALERT_COLUMNS)])


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed send an alert is tried again."""
    return timedelta(minutes=RETRY_MINUTES[min(attempts, len(RETRY_MINUTES)) - 1])


def record_missed_runs(conn: Connection, missed: Sequence[tuple[int, date]], now: datetime) -> int:
    """For evenings just closed as missed, record a ``missed-3`` event where one completes a
    run of three missed in a row (ref: that evening). In the caller's transaction."""
    if not missed:
        return 0
    chats = sorted({chat_id for chat_id, _ in missed})
    earliest = min(evening for _, evening in missed) - RUN_LOOKBACK
    marks: dict[int, list[EveningMark]] = {chat_id: [] for chat_id in chats}
    for start in range(0, len(chats), 500):
        rows = conn.execute(
            select(EveningRow.chat_id, EveningRow.evening, EveningRow.delivery, EveningRow.outcome)
            .where(EveningRow.chat_id.in_(chats[start : start + 500]))
            .where(EveningRow.evening >= earliest)
            # Evenings neither delivered nor answered are passed over anyway: not read.
            .where(or_(EveningRow.outcome != "none", EveningRow.delivery == "sent"))
        )
        for row in rows:
            marks[row.chat_id].append(EveningMark(row.evening, row.delivery, row.outcome))
    events = [
        {
            "chat_id": chat_id,
            "user_id": None,
            "kind": MISSED_3,
            "ref": evening.isoformat(),
            "occurred_at": now,
        }
        for chat_id, evening in missed
        if completes_missed_run(marks[chat_id], evening)
    ]
    if events:
        conn.execute(insert(Event), events)
    return len(events)


class AlertQueries(StoreBase):
    # -- from events to alerts -------------------------------------------------------------

    def events_without_alert(
        self, kinds: Collection[str], since: datetime, *, limit: int = 200
    ) -> list[EventRecord]:
        """Events of `kinds` since `since` that have no alert row yet, oldest first."""
        _aware(since)
        stmt = (
            select(Event.id, Event.chat_id, Event.user_id, Event.kind, Event.ref, Event.occurred_at)
            .outerjoin(AlertRow, AlertRow.event_id == Event.id)
            .where(Event.kind.in_(list(kinds)), Event.occurred_at >= since, AlertRow.id.is_(None))
            .order_by(Event.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [EventRecord(*row) for row in conn.execute(stmt)]

    def create_alert(
        self,
        event: EventRecord,
        now: datetime,
        *,
        share: bool,
        recipients: Sequence[int],
        detail: str | None = None,
    ) -> AlertRecord | None:
        """The event's alert: open with a delivery per recipient when `share`, else withheld.
        None when the event already has one (another process, an earlier run)."""
        _aware(now)
        values = {
            "event_id": event.id,
            "chat_id": event.chat_id,
            "kind": event.kind,
            "detail": detail,
            "occurred_at": event.occurred_at,
            "created_at": now,
            "state": "open" if share else "withheld",
        }
        with self._write() as conn:
            stmt: Any
            if conn.dialect.name == "postgresql":
                stmt = postgresql.insert(AlertRow).on_conflict_do_nothing(
                    index_elements=[AlertRow.event_id]
                )
            else:
                stmt = sqlite.insert(AlertRow).on_conflict_do_nothing(
                    index_elements=[AlertRow.event_id]
                )
            row = conn.execute(stmt.values(values).returning(*_ALERT_COLUMNS)).one_or_none()
            if row is None:
                return None
            alert = _alert(row)
            if share and recipients:
                conn.execute(
                    insert(AlertDeliveryRow),
                    [
                        {
                            "alert_id": alert.id,
                            "staff_id": staff_id,
                            "state": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                        }
                        for staff_id in dict.fromkeys(recipients)
                    ],
                )
        return alert

    # -- deliveries ------------------------------------------------------------------------

    def claim_alert_deliveries(self, now: datetime, *, limit: int = 100) -> list[AlertDelivery]:
        """Claim deliveries of open alerts due by `now` (pending -> sending, committed)."""
        _aware(now)
        due = or_(
            and_(AlertDeliveryRow.state == "pending", AlertDeliveryRow.next_attempt_at <= now),
            and_(
                AlertDeliveryRow.state == "sending",
                AlertDeliveryRow.claimed_at < now - DELIVERY_LEASE,
            ),
        )
        with self._read() as conn:
            if conn.execute(select(AlertDeliveryRow.id).where(due).limit(1)).first() is None:
                return []  # the usual tick: a read through the index, no write lock
        with self._write() as conn:
            chosen = (
                select(AlertDeliveryRow.id)
                .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)
                .where(due, AlertRow.state == "open")
                .order_by(AlertDeliveryRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            claimed = conn.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id.in_(chosen))
                .values(state="sending", claimed_at=now)
                .returning(AlertDeliveryRow.id)
            ).all()
            ids = [row.id for row in claimed]
            if not ids:
                return []
            rows = conn.execute(
                select(
                    *_ALERT_COLUMNS,
                    AlertDeliveryRow.id.label("delivery_id"),
                    AlertDeliveryRow.staff_id,
                    AlertDeliveryRow.attempts,
                )
                .join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)
                .where(AlertDeliveryRow.id.in_(ids))
                .order_by(AlertDeliveryRow.id)
            ).all()
        return [AlertDelivery(r.delivery_id, r.staff_id, r.attempts, _alert(r)) for r in rows]

    def record_alert_delivery(
        self, delivery_id: int, outcome: str, now: datetime, *, message_id: int | None = None
    ) -> None:
        """What became of a claimed delivery: ``sent``, ``blocked``, or anything else (not
        sent, unknown), which is tried again later."""
        _aware(now)
        with self._write() as conn:
            if outcome in ("sent", "blocked"):
                values: dict[str, Any] = {"state": outcome, "message_id": message_id}
                if outcome == "sent":
                    values["sent_at"] = now
                conn.execute(
                    update(AlertDeliveryRow)
                    .where(AlertDeliveryRow.id == delivery_id)
                    .values(**values, attempts=AlertDeliveryRow.attempts + 1)
                )
                return
            attempts = conn.execute(
                select(AlertDeliveryRow.attempts).where(AlertDeliveryRow.id == delivery_id)
            ).scalar_one_or_none()
            if attempts is None:
                return
            conn.execute(
                update(AlertDeliveryRow)
                .where(AlertDeliveryRow.id == delivery_id)
                .values(
                    state="pending",
                    attempts=attempts + 1,
                    next_attempt_at=now + retry_delay(attempts + 1),
                )
            )

    def alert_deliveries(self, alert_id: int) -> list[tuple[int, str, int | None]]:
        """(staff id, state, message id) of each of the alert's deliveries."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    AlertDeliveryRow.staff_id, AlertDeliveryRow.state, AlertDeliveryRow.message_id
                )
                .where(AlertDeliveryRow.alert_id == alert_id)
                .order_by(AlertDeliveryRow.id)
            ).all()
        return [(r.staff_id, r.state, r.message_id) for r in rows]

    # -- reading and acknowledging ---------------------------------------------------------

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        with self._read() as conn:
            row = conn.execute(select(*_ALERT_COLUMNS).where(AlertRow.id == alert_id)).one_or_none()
        return _alert(row) if row is not None else None

    def open_alerts(self, *, limit: int = 20) -> list[AlertRecord]:
        """Open alerts, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_ALERT_COLUMNS)
                .where(AlertRow.state == "open")
                .order_by(AlertRow.id)
                .limit(limit)
            ).all()
        return [_alert(r) for r in rows]

    def open_alert_counts(self) -> dict[str, int]:
        """Open alerts by kind."""
        with self._read() as conn:
            rows = conn.execute(
                select(AlertRow.kind, func.count())
                .where(AlertRow.state == "open")
                .group_by(AlertRow.kind)
            ).all()
        return {r[0]: int(r[1]) for r in rows}

    def alerts_for_chat(self, chat_id: int) -> list[AlertRecord]:
        with self._read() as conn:
            rows = conn.execute(
                select(*_ALERT_COLUMNS).where(AlertRow.chat_id == chat_id).order_by(AlertRow.id)
            ).all()
        return [_alert(r) for r in rows]

    def acknowledge_alert(
        self, alert_id: int, staff_id: int, now: datetime
    ) -> tuple[AlertRecord, bool] | None:
        """Close an open alert; the flag says whether this call did (False: someone had).
        None for an alert that does not exist or was never shown (withheld)."""
        _aware(now)
        with self._write() as conn:
            changed = conn.execute(
                update(AlertRow)
                .where(AlertRow.id == alert_id, AlertRow.state == "open")
                .values(state="acknowledged", acknowledged_by=staff_id, acknowledged_at=now)
                .returning(*_ALERT_COLUMNS)
            ).one_or_none()
            if changed is not None:
                return _alert(changed), True
            row = conn.execute(select(*_ALERT_COLUMNS).where(AlertRow.id == alert_id)).one_or_none()
        if row is None or row.state == "withheld":
            return None
        return _alert(row), False
