"""Reading what patients type during setup: a time of day, a date. None for anything else."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y")
_SHORT_FORMATS = ("%d %b", "%d %B", "%b %d", "%B %d", "%d.%m", "%d/%m")


def parse_time(text: str) -> time | None:
    """21:30, 9:30pm, 21.30, 21h30, 9pm -> a time; None for anything else."""
    match = _TIME.match(text)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower()
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare number is too ambiguous
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_date(text: str, today: date) -> date | None:
    """2026-12-07, 7.12.2026, 7 Dec, Dec 7, today, tomorrow -> a date; None otherwise."""
    cleaned = " ".join(text.strip().replace(",", " ").split())
    lowered = cleaned.lower()
    if lowered == "today":
        return today
    if lowered == "tomorrow":
        return today + timedelta(days=1)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    for fmt in _SHORT_FORMATS:
        try:
            parsed = datetime.strptime(f"{cleaned} {today.year}", f"{fmt} %Y").date()
        except ValueError:
            continue
        # "7 Jan" typed in December means next January.
        if parsed < today - timedelta(days=180):
            parsed = parsed.replace(year=today.year + 1)
        return parsed
    return None
