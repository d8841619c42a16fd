"""When a patient's evening reminder is due, in their own time zone. Time is always passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminders.plan import PlanError

DAY_STARTS = time(4, 0)  # a dose taken at 01:00 still belongs to the evening before


@dataclass(frozen=True, slots=True)
class ReminderSetting:
    """A patient's reminder: local wall-clock time and IANA time zone."""

    at: time
    timezone: str

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlanError(f"unknown time zone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def evening_of(now: datetime, timezone: str) -> date:
    """The local date whose evening `now` belongs to: the key of "one reminder per evening"."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(ZoneInfo(timezone))
    return (local - timedelta(hours=DAY_STARTS.hour, minutes=DAY_STARTS.minute)).date()


def next_reminder_at(now: datetime, setting: ReminderSetting) -> datetime:
    """The next instant (UTC) at or after `now` when the local clock shows `setting.at`.

    Around daylight-saving changes a wall-clock time can be skipped or repeated: a skipped time
    fires at the first instant after the gap, a repeated one fires once, at its first occurrence.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = setting.zone
    local_day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = _instant(local_day + timedelta(days=offset), setting.at, zone)
        if candidate >= now:
            return candidate
    raise AssertionError("unreachable: a reminder time recurs every day")


def reminder_at(evening: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of the reminder for `evening` at local wall-clock time `at`.

    A time before DAY_STARTS (e.g. 00:30) falls on the next calendar day but still belongs to
    `evening`. A skipped wall-clock time fires right after the gap; a repeated one at its first
    occurrence, so the same evening never has two instants.
    """
    day = evening if at >= DAY_STARTS else evening + timedelta(days=1)
    return _instant(day, at, zone)


def evening_ends_at(evening: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) the next day starts: an evening still open then is missed."""
    return _instant(evening + timedelta(days=1), DAY_STARTS, zone)


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # the usual case, and the first of two in an autumn overlap
    # Inside a spring-forward gap: fire at the transition, the first instant whose local time
    # is past the wall time. fold=1 lands before the gap, fold=0 after it; bisect between.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    while (high - low).total_seconds() > 1:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
