"""The config's sections that need more than a type check ([reminders], [staff], [clinic]
timezone), and the readers every section shares: unknown keys, wrong types, ranges.
:mod:`bot.config` re-exports what others import.

    ConfigError     the file is missing, malformed, or a value is wrong; the message is one line
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """The configuration cannot be used; str(error) is a one-line explanation."""


@dataclass(frozen=True)
class RemindersConfig:
    tick_seconds: int = 45  # how often the scheduler asks the store what is due
    grace_minutes: int = 120  # a reminder missed while the bot was down is sent this late at most
    snooze_minutes: int = 30  # "Snooze" asks again after this long
    nudge_after_minutes: int = 60  # one nudge if nothing was tapped; 0: no nudge
    checkin_after_days: int = 3  # days into a higher dose before "how is it going?"
    pain_every_days: int = 7  # the pain score's interval; 0: never asked
    plans: Path | None = None  # None: the plans shipped with the package


@dataclass(frozen=True)
class StaffConfig:
    """Clinic staff by Telegram user id (admins may also invite and remove staff)."""

    admins: tuple[int, ...] = ()
    staff: tuple[int, ...] = ()
    invite_hours: int = 24  # a /join code expires after this long
    enrolment_days: int = 14  # an enrolment link expires after this long
    alert_to: tuple[int, ...] = ()  # who gets staff alerts; empty: every staff member


def _section(data: dict[str, Any], name: str, cls: type, where: str) -> dict[str, Any]:
    """The section's values, checking for unknown keys and wrong types against `cls`."""
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key [{name}] {key}")
        out[key] = value
    return out


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number"}


def _typed(where: str, section: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise ConfigError(f"{where}: [{section}] {key} must be {names}")
    return value


def _optional_text(where: str, section: str, values: dict[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    text = _typed(where, section, key, values[key], str).strip()
    return text or None


def _url(where: str, section: str, key: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{where}: [{section}] {key} must be a {'/'.join(schemes)} URL")
    return value


_REMINDER_LIMITS = {
    "tick_seconds": (5, 600),
    "grace_minutes": (0, 720),
    "snooze_minutes": (5, 240),
    "nudge_after_minutes": (0, 360),
    "checkin_after_days": (1, 14),
    "pain_every_days": (0, 28),
}


def _ints_within(
    where: str, section: str, raw: dict[str, Any], cls: type, limits: dict[str, tuple[int, int]]
) -> dict[str, int]:
    """Whole-number keys of a section, each its default when absent, each within its limits."""
    values: dict[str, int] = {}
    for key, (low, high) in limits.items():
        value = _typed(where, section, key, raw.get(key, getattr(cls, key)), int)
        if not low <= value <= high:
            raise ConfigError(f"{where}: [{section}] {key} must be between {low} and {high}")
        values[key] = value
    return values


def _reminders(data: dict[str, Any], where: str, base: Path | None) -> RemindersConfig:
    r = _section(data, "reminders", RemindersConfig, where)
    values: dict[str, Any] = _ints_within(where, "reminders", r, RemindersConfig, _REMINDER_LIMITS)
    plans = _optional_text(where, "reminders", r, "plans")
    if plans:
        path = Path(plans).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        values["plans"] = path
    return RemindersConfig(**values)


def _without(data: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    """``data`` with one key left out of one section (read on its own)."""
    raw = data.get(section)
    if not isinstance(raw, dict) or key not in raw:
        return data
    return {**data, section: {k: v for k, v in raw.items() if k != key}}


def _clinic_timezone(data: dict[str, Any], where: str) -> str:
    raw = data.get("clinic")
    if not isinstance(raw, dict) or "timezone" not in raw:
        return "UTC"
    name = _typed(where, "clinic", "timezone", raw["timezone"], str).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: [clinic] timezone must be an IANA time zone such as Europe/London"
        ) from None
    return name


def _user_ids(where: str, key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ConfigError(f"{where}: [staff] {key} must be a list of Telegram user ids (numbers)")
    return tuple(value)


def _staff(data: dict[str, Any], where: str) -> StaffConfig:
    raw = _section(data, "staff", StaffConfig, where)
    admins = _user_ids(where, "admins", raw.get("admins", []))
    staff = _user_ids(where, "staff", raw.get("staff", []))
    hours = _typed(where, "staff", "invite_hours", raw.get("invite_hours", 24), int)
    days = _typed(where, "staff", "enrolment_days", raw.get("enrolment_days", 14), int)
    if not 1 <= hours <= 24 * 30:
        raise ConfigError(f"{where}: [staff] invite_hours must be between 1 and 720")
    if not 1 <= days <= 365:
        raise ConfigError(f"{where}: [staff] enrolment_days must be between 1 and 365")
    alert_to = _user_ids(where, "alert_to", raw.get("alert_to", []))
    return StaffConfig(admins, staff, hours, days, alert_to)
