"""Regimens and the half-finished /plan setup (a row, so a restart continues it)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, func, select, update

from reminders import Pause, Regimen
from reminders.plan import mg

from .base import StoreBase, _aware
from .models import PlanDraft, RegimenRow
from .records import Draft, StoredRegimen, _hhmm, _stored, _time


class RegimenQueries(StoreBase):
    # -- regimens --------------------------------------------------------------------------

    def save_regimen(self, chat_id: int, regimen: Regimen, now: datetime) -> StoredRegimen:
        """Create or replace the chat's regimen (active). Evenings already recorded stay, and
        tonight's reminder is never sent twice: the next evening looked at is never earlier
        than before."""
        _aware(now)
        with self._write() as conn:
            old = conn.execute(
                select(RegimenRow.next_evening).where(RegimenRow.chat_id == chat_id)
            ).scalar_one_or_none()
            following = regimen.first_evening(now)
            if old is not None:
                following = max(following, old)
            values = {
                "chat_id": chat_id,
                "plan_name": regimen.plan_name,
                "plan_title": regimen.plan_title or regimen.plan_name,
                "steps": regimen.steps_json(),
                "max_mg": mg(regimen.max_mg),
                "start_date": regimen.start,
                "remind_at": _hhmm(regimen.at),
                "timezone": regimen.timezone,
                "holds": regimen.holds_json(),
                "state": "active",
                "paused_until": None,
                "next_evening": following,
                "next_due_at": regimen.due_at(following),
                "created_at": now,
                "updated_at": now,
            }
            conn.execute(
                self._upsert(
                    RegimenRow,
                    values,
                    [RegimenRow.chat_id],
                    lambda excluded: {
                        getattr(RegimenRow, key): excluded[key]
                        for key in values
                        if key not in ("chat_id", "created_at")
                    },
                )
            )
        stored = self.get_regimen(chat_id)
        assert stored is not None
        return stored

    def get_regimen(self, chat_id: int) -> StoredRegimen | None:
        with self._read() as conn:
            row = conn.execute(
                select(RegimenRow).where(RegimenRow.chat_id == chat_id)
            ).one_or_none()
        return _stored(row) if row is not None else None

    def update_reminder_time(
        self, chat_id: int, now: datetime, *, at: time | None = None, timezone: str | None = None
    ) -> StoredRegimen | None:
        """Change the reminder time or zone; tonight's reminder, once sent, is not repeated."""
        stored = self.get_regimen(chat_id)
        if stored is None:
            return None
        regimen = stored.regimen
        changed = Regimen(
            regimen.plan_name,
            regimen.steps,
            regimen.start,
            at or regimen.at,
            timezone or regimen.timezone,
            regimen.holds,
            regimen.max_mg,
            regimen.plan_title,
        )
        following = max(stored.next_evening, changed.first_evening(now))
        with self._write() as conn:
            conn.execute(
                update(RegimenRow)
                .where(RegimenRow.chat_id == chat_id)
                .values(
                    remind_at=_hhmm(changed.at),
                    timezone=changed.timezone,
                    next_evening=following,
                    next_due_at=(
                        None if stored.pause.state is Pause.STOPPED else changed.due_at(following)
                    ),
                    updated_at=now,
                )
            )
        return self.get_regimen(chat_id)

    def set_pause(
        self, chat_id: int, state: Pause, now: datetime, *, until: date | None = None
    ) -> StoredRegimen | None:
        """Pause (until `until`, or until resumed), resume, or stop the chat's reminders. The
        plan's calendar keeps running either way; paused evenings are recorded, not sent."""
        stored = self.get_regimen(chat_id)
        if stored is None:
            return None
        values: dict[str, Any] = {"state": state.value, "paused_until": until, "updated_at": now}
        if state is Pause.STOPPED:
            values["next_due_at"] = None
        elif stored.next_due_at is None or stored.pause.state is Pause.STOPPED:
            following = max(stored.next_evening, stored.regimen.first_evening(now))
            values["next_evening"] = following
            values["next_due_at"] = stored.regimen.due_at(following)
        with self._write() as conn:
            conn.execute(update(RegimenRow).where(RegimenRow.chat_id == chat_id).values(values))
        return self.get_regimen(chat_id)

    def delete_regimen(self, chat_id: int) -> None:
        with self._write() as conn:
            conn.execute(delete(RegimenRow).where(RegimenRow.chat_id == chat_id))

    # -- the /plan draft -------------------------------------------------------------------

    def save_draft(
        self,
        chat_id: int,
        stage: str,
        now: datetime,
        *,
        plan_name: str | None = None,
        start_date: date | None = None,
        remind_at: time | None = None,
        timezone: str | None = None,
    ) -> Draft:
        """Start or continue the chat's /plan setup; fields left None keep their value."""
        values: dict[str, Any] = {
            "chat_id": chat_id,
            "stage": stage,
            "plan_name": plan_name,
            "start_date": start_date,
            "remind_at": _hhmm(remind_at) if remind_at is not None else None,
            "timezone": timezone,
            "updated_at": _aware(now),
        }
        with self._write() as conn:
            conn.execute(
                self._upsert(
                    PlanDraft,
                    values,
                    [PlanDraft.chat_id],
                    lambda excluded: {
                        PlanDraft.stage: excluded.stage,
                        PlanDraft.updated_at: excluded.updated_at,
                        **{
                            getattr(PlanDraft, key): func.coalesce(
                                excluded[key], getattr(PlanDraft, key)
                            )
                            for key in ("plan_name", "start_date", "remind_at", "timezone")
                        },
                    },
                )
            )
        draft = self.get_draft(chat_id)
        assert draft is not None
        return draft

    def get_draft(self, chat_id: int) -> Draft | None:
        with self._read() as conn:
            row = conn.execute(select(PlanDraft).where(PlanDraft.chat_id == chat_id)).one_or_none()
        if row is None:
            return None
        at = _time(row.remind_at) if row.remind_at else None
        return Draft(row.chat_id, row.stage, row.plan_name, row.start_date, at, row.timezone)

    def delete_draft(self, chat_id: int) -> None:
        with self._write() as conn:
            conn.execute(delete(PlanDraft).where(PlanDraft.chat_id == chat_id))

    def count_due_regimens(self, now: datetime) -> int:
        """How many regimens are due by `now` (what one tick would read)."""
        with self._read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(RegimenRow)
                    .where(RegimenRow.next_due_at <= now)
                ).scalar_one()
            )
