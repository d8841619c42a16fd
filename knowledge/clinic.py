"""The clinic's contact details as they appear inside answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClinicInfo:
    """Contact details from config; every field may be unset and the wording still works."""

    name: str | None = None
    phone: str | None = None
    hours: str | None = None
    emergency_number: str | None = None
    crisis_line: str | None = None

    def placeholders(self) -> dict[str, str]:
        """Values for {clinic}, {emergency} and {crisis} in templates and messages."""
        clinic = self.name or "your clinic"
        if self.phone:
            clinic = f"{self.name or 'the clinic'} on {self.phone}"
            if self.hours:
                clinic += f" ({self.hours})"
        emergency = self.emergency_number or "your local emergency number"
        crisis = (
            f"a crisis line ({self.crisis_line})" if self.crisis_line else "a local crisis line"
        )
        return {"clinic": clinic, "emergency": emergency, "crisis": crisis}


PLACEHOLDERS = frozenset(ClinicInfo().placeholders())
