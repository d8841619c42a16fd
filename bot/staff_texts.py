"""The bot's words for clinic staff, and the commands in their own command menu."""

from __future__ import annotations

# Shown, in staff members' own chats only (setMyCommands with a chat scope), after the
# patients' commands. Issue #11 appends its commands to these tuples.
STAFF_COMMANDS: tuple[tuple[str, str], ...] = (
    ("enrol", "Staff: make a one-time enrolment link"),
    ("broadcast", "Staff: send a message to patients"),
    ("broadcasts", "Staff: recent broadcasts and their counts"),
    ("alerts", "Staff: open alerts about consenting patients"),
    ("stats", "Staff: patients, adherence, side effects, alerts"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("staff", "Admin: list, invite and remove staff"),
    ("export", "Admin: adherence and check-ins as a CSV file"),
    ("reload", "Admin: reload the knowledge base and plans"),
)

JOINED = "Welcome to the clinic team: you are now {role}. Your staff commands are in the menu."
JOIN_EXPIRED = "This invitation has expired. Please ask an admin for a new one."
JOIN_USED = "This invitation was already used. Please ask an admin for a new one."
JOIN_ALREADY = "You are already {role}; the invitation was not used."
