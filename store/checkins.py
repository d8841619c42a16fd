"""Symptom check-ins (side effects after a step-up, the weekly pain score): planned, claimed,
recorded; their answers are in :mod:`store.checkin_answers`.

Exactly once, as for reminders: a check-in is a row unique on (chat, local evening, kind),
planned by ``INSERT ... ON CONFLICT DO NOTHING``; it is claimed (``pending`` -> ``sending``,
committed) before it is sent, and a row still ``sending`` after a crash becomes ``unknown``,
never sent again. A check-in goes out no later than its evening's reminder could (the
reminder's due time plus the grace), so a restart in the small hours never asks. The two
check-ins of one evening (a step-up's and the weekly pain score) are claimed together and
sent as one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from reminders.checkins import checkins_due
from reminders.plan import mg

from .base import StoreBase, _aware
from .models import ChatPreference, CheckinRow, RegimenRow
from .records import BATCH, Delivery, EveningRecord, _stored

CHECKINS_PREFERENCE: Final = "checkins"  # chat_preferences key: "off" turns check-ins off
SEVERE_EVENT: Final = "severe-side-effect"  # recorded with the answer, for the staff alerts


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    id: int
    chat_id: int
    local_date: date
    kind: str
    step: int
    dose_mg: Decimal
    delivery: str
    due_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    message_id: int | None


_CHECKIN_COLUMNS = (
    CheckinRow.id,
    CheckinRow.chat_id,
    CheckinRow.local_date,
    CheckinRow.kind,
    CheckinRow.step,
    CheckinRow.dose_mg,
    CheckinRow.delivery,
    CheckinRow.due_at,
    CheckinRow.expires_at,
    CheckinRow.sent_at,
    CheckinRow.message_id,
)


def _checkin(row: Any) -> CheckinRecord:
    values = list(row)
    values[5] = Decimal(values[5])
    return CheckinRecord(*values)


class CheckinQueries(StoreBase):
    # -- planning and claims ---------------------------------------------------------------

    def plan_checkins(
        self,
        evenings: Sequence[EveningRecord],
        now: datetime,
        *,
        after_days: int,
        pain_every_days: int,
        grace: timedelta,
    ) -> int:
        """Plan the check-ins these evenings ask (their reminders have just gone out), due
        `now`, for chats that have not turned check-ins off. Each expires when its reminder
        would no longer be sent (due + `grace`, within the evening): one left pending by a
        crash is never sent at 2 a.m. Returns how many were created; planning an evening
        twice creates nothing more."""
        _aware(now)
        if not evenings:
            return 0
        chats = sorted({e.chat_id for e in evenings})
        values: list[dict[str, Any]] = []
        with self._write() as conn:
            regimens = {
                row.chat_id: _stored(row).regimen
                for row in conn.execute(select(RegimenRow).where(RegimenRow.chat_id.in_(chats)))
            }
            off = set(
                conn.scalars(
                    select(ChatPreference.chat_id).where(
                        ChatPreference.chat_id.in_(chats),
                        ChatPreference.key == CHECKINS_PREFERENCE,
                        ChatPreference.value == "off",
                    )
                )
            )
            for evening in evenings:
                regimen = regimens.get(evening.chat_id)
                expires_at = min(evening.ends_at, evening.due_at + grace)
                if regimen is None or evening.chat_id in off or expires_at <= now:
                    continue
                for item in checkins_due(
                    regimen,
                    evening.evening,
                    after_days=after_days,
                    pain_every_days=pain_every_days,
                ):
                    values.append(
                        {
                            "chat_id": evening.chat_id,
                            "local_date": item.evening,
                            "kind": item.kind,
                            "step": item.step,
                            "dose_mg": mg(item.dose_mg),
                            "delivery": "pending",
                            "due_at": now,
                            "expires_at": expires_at,
                        }
                    )
            return self._insert_checkins(conn, values) if values else 0

    def _insert_checkins(self, conn: Connection, values: Sequence[dict[str, Any]]) -> int:
        keys = [CheckinRow.chat_id, CheckinRow.local_date, CheckinRow.kind]
        if conn.dialect.name == "postgresql":
            stmt: Any = postgresql.insert(CheckinRow).on_conflict_do_nothing(index_elements=keys)
        else:
            stmt = sqlite.insert(CheckinRow).on_conflict_do_nothing(index_elements=keys)
        return len(conn.execute(stmt.returning(CheckinRow.id), list(values)).all())

    def claim_checkins(self, now: datetime, *, limit: int = BATCH) -> list[CheckinRecord]:
        """Claim pending check-ins due by `now` (``sending``, committed before any send);
        those past their time are recorded ``not_sent``. An evening's check-ins are claimed
        together, whatever `limit` says, so that they can go out as one message."""
        _aware(now)
        with self._read() as conn:
            pending = select(CheckinRow.id).where(CheckinRow.delivery == "pending").limit(1)
            if conn.execute(pending).first() is None:
                return []  # the usual tick: a read, no write lock
        with self._write() as conn:
            conn.execute(
                update(CheckinRow)
                .where(CheckinRow.delivery == "pending", CheckinRow.expires_at <= now)
                .values(delivery="not_sent", note="late")
            )
            chosen = (
                select(CheckinRow.id)
                .where(CheckinRow.delivery == "pending", CheckinRow.due_at <= now)
                .order_by(CheckinRow.due_at, CheckinRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows: list[Any] = list(
                conn.execute(
                    update(CheckinRow)
                    .where(CheckinRow.id.in_(chosen), CheckinRow.delivery == "pending")
                    .values(delivery="sending", claimed_at=now)
                    .returning(*_CHECKIN_COLUMNS)
                ).all()
            )
            evenings = {(r.chat_id, r.local_date) for r in rows}
            if evenings:
                rows += conn.execute(
                    update(CheckinRow)
                    .where(
                        tuple_(CheckinRow.chat_id, CheckinRow.local_date).in_(sorted(evenings)),
                        CheckinRow.delivery == "pending",
                        CheckinRow.due_at <= now,
                    )
                    .values(delivery="sending", claimed_at=now)
                    .returning(*_CHECKIN_COLUMNS)
                ).all()
        return sorted((_checkin(r) for r in rows), key=lambda c: (c.due_at, c.id))

    def record_checkin(
        self, checkin_id: int, delivery: Delivery, now: datetime, *, message_id: int | None
    ) -> bool:
        """Record what became of one claimed check-in; False if it was not being sent."""
        return self._record_send(CheckinRow, checkin_id, delivery, now, message_id)

    def recover_checkins(self, before: datetime) -> int:
        """Check-ins claimed before `before` and still ``sending`` become ``unknown``."""
        _aware(before)
        stuck = (CheckinRow.delivery == "sending", CheckinRow.claimed_at < before)
        with self._read() as conn:
            if conn.execute(select(CheckinRow.id).where(*stuck).limit(1)).first() is None:
                return 0
        with self._write() as conn:
            return int(
                conn.execute(
                    update(CheckinRow).where(*stuck).values(delivery="unknown", note="interrupted")
                ).rowcount
            )

    def companion_checkin(self, checkin: CheckinRecord) -> CheckinRecord | None:
        """The other check-in sent in the same message as `checkin` (the weekly pain score
        asked after a step-up's side effects, on the same evening), if any."""
        if checkin.message_id is None:
            return None
        with self._read() as conn:
            row = conn.execute(
                select(*_CHECKIN_COLUMNS).where(
                    CheckinRow.chat_id == checkin.chat_id,
                    CheckinRow.local_date == checkin.local_date,
                    CheckinRow.message_id == checkin.message_id,
                    CheckinRow.id != checkin.id,
                )
            ).first()
        return _checkin(row) if row is not None else None

    def get_checkin(self, checkin_id: int) -> CheckinRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(*_CHECKIN_COLUMNS).where(CheckinRow.id == checkin_id)
            ).one_or_none()
        return _checkin(row) if row is not None else None

    def checkins_for_chat(self, chat_id: int) -> list[CheckinRecord]:
        """The chat's check-ins, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*_CHECKIN_COLUMNS)
                .where(CheckinRow.chat_id == chat_id)
                .order_by(CheckinRow.local_date, CheckinRow.id)
            ).all()
        return [_checkin(r) for r in rows]

    # -- the patient's choice --------------------------------------------------------------

    def checkins_enabled(self, chat_id: int) -> bool:
        with self._read() as conn:
            value = conn.scalar(
                select(ChatPreference.value).where(
                    ChatPreference.chat_id == chat_id, ChatPreference.key == CHECKINS_PREFERENCE
                )
            )
        return value != "off"
