"""/history's words: the last evenings, adherence, and recent side effects and pain scores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from bot.checkin_texts import answered_line
from bot.reminder_texts import day
from reminders.history import Adherence, Night, adherence, status
from reminders.plan import mg
from store import CheckinAnswerRecord

SHOWN_EVENINGS = 14
ANSWERS_SINCE_DAYS = 30
_STATUS = {
    "taken": "✅ taken",
    "skipped": "⏭ skipped",
    "missed": "❌ missed",
    "not_sent": "⚪ no reminder sent",
    "paused": "⏸ paused",
    "no_answer": "❔ no answer (not counted)",
    "open": "⏳ not answered yet",
}


def _percent(value: Adherence) -> str:
    if value.percent is None:
        return f"last {value.days} days: nothing to count yet"
    return f"last {value.days} days: <b>{value.percent}%</b> ({value.taken} of {value.counted})"


def history_html(
    nights: Sequence[Night], answers: Sequence[CheckinAnswerRecord], today: date
) -> str:
    """The patient's history as of `today` (their current evening)."""
    first = today - timedelta(days=SHOWN_EVENINGS - 1)
    shown = sorted((n for n in nights if first <= n.evening <= today), key=lambda n: n.evening)
    lines = ["<b>Your last 14 evenings</b>"]
    if not shown:
        lines.append("Nothing recorded yet.")
    for night in reversed(shown):
        shown_as = _STATUS[status(night, today)]
        lines.append(f"{day(night.evening)} · {mg(night.dose_mg)} mg · {shown_as}")
    ordered = list(nights)
    lines += [
        "",
        "<b>Doses taken</b>",
        _percent(adherence(ordered, today, 7)),
        _percent(adherence(ordered, today, 30)),
        "<i>Only evenings you answered or missed count: not those when no reminder "
        "was sent (a pause, or the bot was down) or whose reminder may not have arrived.</i>",
    ]
    since = today - timedelta(days=ANSWERS_SINCE_DAYS - 1)
    recent = [a for a in answers if a.local_date >= since]
    effects = [a for a in recent if a.kind == "side_effects"]
    pains = [a for a in recent if a.kind == "pain"]
    lines += ["", "<b>Side effects (last 30 days)</b>"]
    if not effects:
        lines.append("None recorded.")
    for answer in effects:
        lines.append(f"{day(answer.local_date)}: {answered_line(answer)}")
    lines += ["", "<b>Pain scores (last 30 days)</b>"]
    if not pains:
        lines.append("None recorded.")
    for answer in pains:
        lines.append(f"{day(answer.local_date)}: {answer.score}/10")
    lines += ["", "/schedule shows your plan as a chart; /checkins turns check-ins off or on."]
    return "\n".join(lines)
