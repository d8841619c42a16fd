"""Clinic staff invited by an admin, and the one-time invite codes (kept only as hashes).

Staff listed in the config are not stored here; the bot asks the config first
(:func:`bot.staff.role_of`). Redeeming a code is one atomic ``UPDATE ... WHERE used_at IS NULL
AND expires_at > now``, so a code makes at most one person staff, whoever races for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from sqlalchemy import delete, insert, select, update

from .base import StoreBase, _aware
from .models import STAFF_ROLES, AuditEntry, StaffInvite, StaffMember

Role = Literal["admin", "staff"]

if get_args(Role) != STAFF_ROLES:
    raise RuntimeError("store.staff.Role disagrees with the CHECK constraint in store.models")


@dataclass(frozen=True, slots=True)
class StaffRecord:
    user_id: int
    role: Role
    added_at: datetime
    added_by: int | None


class Redeemed(StrEnum):
    """What a /join code turned out to be."""

    JOINED = "joined"
    UNKNOWN = "unknown"  # no such code: the sender learns nothing
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class Redemption:
    result: Redeemed
    role: Role | None = None
    invite_id: int | None = None


def _role(value: str) -> Role:
    if value not in STAFF_ROLES:
        raise ValueError(f"role must be one of {STAFF_ROLES}, got {value!r}")
    return value  # type: ignore[return-value]


class StaffQueries(StoreBase):
    def add_staff(
        self, user_id: int, role: str, now: datetime, *, added_by: int | None = None
    ) -> None:
        """Make ``user_id`` staff with ``role`` (or change the role of a member)."""
        values = {
            "user_id": user_id,
            "role": _role(role),
            "added_at": _aware(now),
            "added_by": added_by,
        }
        with self._write() as conn:
            conn.execute(
                self._upsert(
                    StaffMember,
                    values,
                    [StaffMember.user_id],
                    lambda excluded: {StaffMember.role: excluded.role},
                )
            )

    def remove_staff(self, user_id: int) -> bool:
        """Remove an invited member; False when there was none."""
        with self._write() as conn:
            return bool(
                conn.execute(delete(StaffMember).where(StaffMember.user_id == user_id)).rowcount
            )

    def removed_staff(self) -> list[int]:
        """Everyone ever removed (from the audit log's ``remove`` entries), whatever they are
        now: the bot clears their staff menu at start."""
        with self._read() as conn:
            subjects = conn.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == "remove").distinct()
            )
            return sorted(
                int(subject.removeprefix("staff:"))
                for subject in subjects
                if subject is not None and subject.removeprefix("staff:").isdigit()
            )

    def stored_role(self, user_id: int) -> Role | None:
        with self._read() as conn:
            role = conn.scalar(select(StaffMember.role).where(StaffMember.user_id == user_id))
        return _role(role) if role is not None else None

    def list_staff(self) -> list[StaffRecord]:
        """Invited members, by user id."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    StaffMember.user_id,
                    StaffMember.role,
                    StaffMember.added_at,
                    StaffMember.added_by,
                ).order_by(StaffMember.user_id)
            ).all()
            return [StaffRecord(r.user_id, _role(r.role), r.added_at, r.added_by) for r in rows]

    def create_invite(
        self,
        code_hash: str,
        role: str,
        now: datetime,
        expires_at: datetime,
        *,
        created_by: int | None = None,
    ) -> int:
        """Store a new invite (its code's hash only); returns its id."""
        if len(code_hash) != 64:
            raise ValueError("code_hash must be a SHA-256 hex digest")
        _aware(now)
        with self._write() as conn:
            return int(
                conn.execute(
                    insert(StaffInvite)
                    .values(
                        code_hash=code_hash,
                        role=_role(role),
                        created_by=created_by,
                        created_at=now,
                        expires_at=_aware(expires_at),
                    )
                    .returning(StaffInvite.id)
                ).scalar_one()
            )

    def redeem_invite(self, code_hash: str, user_id: int, now: datetime) -> Redemption:
        """Use the invite once: the sender becomes staff with its role, in one transaction."""
        _aware(now)
        with self._write() as conn:
            row = conn.execute(
                update(StaffInvite)
                .where(
                    StaffInvite.code_hash == code_hash,
                    StaffInvite.used_at.is_(None),
                    StaffInvite.expires_at > now,
                )
                .values(used_at=now, used_by=user_id)
                .returning(StaffInvite.id, StaffInvite.role, StaffInvite.created_by)
            ).one_or_none()
            if row is None:
                found = conn.execute(
                    select(StaffInvite.used_at).where(StaffInvite.code_hash == code_hash)
                ).one_or_none()
                if found is None:
                    return Redemption(Redeemed.UNKNOWN)
                return Redemption(Redeemed.USED if found.used_at is not None else Redeemed.EXPIRED)
            conn.execute(
                self._upsert(
                    StaffMember,
                    {
                        "user_id": user_id,
                        "role": row.role,
                        "added_at": now,
                        "added_by": row.created_by,
                    },
                    [StaffMember.user_id],
                    lambda excluded: {StaffMember.role: excluded.role},
                )
            )
        return Redemption(Redeemed.JOINED, _role(row.role), int(row.id))
