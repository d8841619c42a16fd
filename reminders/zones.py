"""Finding a patient's IANA time zone from what they type: a zone name, a city or a country.

The table below is deliberately small (the clinic's patients, their relatives abroad); anything
else can be typed as an IANA name ("Europe/Lisbon"). A typo gets the closest names suggested.
"""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones

# Buttons offered first during /plan.
COMMON_ZONES = (
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Kolkata",
)

# City or country (lowercase) -> IANA zone. Countries with several zones name their most
# populous one; patients elsewhere type their city or the IANA name.
PLACES: dict[str, str] = {
    "london": "Europe/London",
    "uk": "Europe/London",
    "united kingdom": "Europe/London",
    "england": "Europe/London",
    "scotland": "Europe/London",
    "wales": "Europe/London",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "dublin": "Europe/Dublin",
    "ireland": "Europe/Dublin",
    "paris": "Europe/Paris",
    "france": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "germany": "Europe/Berlin",
    "munich": "Europe/Berlin",
    "amsterdam": "Europe/Amsterdam",
    "netherlands": "Europe/Amsterdam",
    "madrid": "Europe/Madrid",
    "spain": "Europe/Madrid",
    "rome": "Europe/Rome",
    "italy": "Europe/Rome",
    "lisbon": "Europe/Lisbon",
    "portugal": "Europe/Lisbon",
    "stockholm": "Europe/Stockholm",
    "sweden": "Europe/Stockholm",
    "oslo": "Europe/Oslo",
    "norway": "Europe/Oslo",
    "copenhagen": "Europe/Copenhagen",
    "denmark": "Europe/Copenhagen",
    "warsaw": "Europe/Warsaw",
    "poland": "Europe/Warsaw",
    "athens": "Europe/Athens",
    "greece": "Europe/Athens",
    "new york": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "washington": "America/New_York",
    "toronto": "America/Toronto",
    "chicago": "America/Chicago",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "denver": "America/Denver",
    "phoenix": "America/Phoenix",
    "los angeles": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "vancouver": "America/Vancouver",
    "usa": "America/New_York",
    "united states": "America/New_York",
    "canada": "America/Toronto",
    "mexico": "America/Mexico_City",
    "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne",
    "brisbane": "Australia/Brisbane",
    "perth": "Australia/Perth",
    "adelaide": "Australia/Adelaide",
    "lord howe": "Australia/Lord_Howe",
    "australia": "Australia/Sydney",
    "auckland": "Pacific/Auckland",
    "new zealand": "Pacific/Auckland",
    "india": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "tokyo": "Asia/Tokyo",
    "japan": "Asia/Tokyo",
    "singapore": "Asia/Singapore",
    "hong kong": "Asia/Hong_Kong",
    "dubai": "Asia/Dubai",
    "johannesburg": "Africa/Johannesburg",
    "south africa": "Africa/Johannesburg",
}


@cache
def _zones() -> dict[str, str]:
    """Lowercase IANA name (and its last part, "new_york" and "new york") -> the name."""
    names: dict[str, str] = {}
    for name in available_timezones():
        if name.startswith(("Etc/", "SystemV/")) or "/" not in name:
            continue
        names[name.lower()] = name
        city = name.rsplit("/", 1)[1].lower()
        names.setdefault(city, name)
        names.setdefault(city.replace("_", " "), name)
    return names


def find_zone(text: str) -> str | None:
    """The IANA zone for a zone name, city or country, or None."""
    key = " ".join(text.strip().lower().replace("_", " ").split())
    if not key:
        return None
    if key in PLACES:
        return PLACES[key]
    zones = _zones()
    exact = text.strip().lower()
    return zones.get(exact) or zones.get(key) or zones.get(key.replace(" ", "_"))


def suggest_zones(text: str, count: int = 3) -> list[str]:
    """Close IANA names (or places' zones) for a typo, best first."""
    key = " ".join(text.strip().lower().split())
    if not key:
        return []
    candidates = {**_zones(), **PLACES}
    close = difflib.get_close_matches(key, list(candidates), n=count * 3, cutoff=0.6)
    out: list[str] = []
    for match in close:
        zone = candidates[match]
        if zone not in out:
            out.append(zone)
    return out[:count]
