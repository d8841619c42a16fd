"""The reminders' words and buttons: the nightly message, what a tap recorded, the schedule.

Built from store records and plain reminders values, so an old reminder's message can be
rebuilt exactly when it is edited to show what was recorded. No dosing advice: a skipped or
missed evening points to the clinic, as the knowledge base's checked sources do.
"""

from __future__ import annotations

from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.texts import escape
from reminders import Pause, Regimen
from reminders.plan import TitrationPlan, describe_steps, mg
from store.records import EveningRecord, StoredRegimen

TAKEN, SNOOZE, SKIP, HOLD = "t", "s", "k", "h"
SUGGESTED_TIMES = ("20:00", "20:30", "21:00", "21:30", "22:00", "22:30")


def day(value: date) -> str:
    """Tue 1 Dec"""
    return f"{value:%a} {value.day} {value:%b}"


def long_day(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def reminder_html(evening: EveningRecord, kind: str = "reminder") -> str:
    """The nightly reminder (or its nudge / snoozed repeat) for one evening."""
    dose = mg(evening.dose_mg)
    heading = f"🌙 <b>{escape(evening.label)}: {dose} mg</b>"
    if kind == "nudge":
        body = f"Just checking in: have you taken tonight's dose ({dose} mg)?"
    elif kind == "snooze":
        body = f"⏰ Here's your reminder again: tonight's dose is {dose} mg."
    else:
        body = f"Time for tonight's LDN: {dose} mg, before bed as your clinic advised."
    text = f"{heading}\n{body}"
    if evening.step_up and evening.previous_mg is not None:
        text += (
            f"\n\n📈 <b>Tonight your plan steps up</b> from {mg(evening.previous_mg)} mg to "
            f"{dose} mg. If you'd rather stay on {mg(evening.previous_mg)} mg for now, tap "
            "“Stay on my current dose” and let your clinic know."
        )
    return text


def reminder_keyboard(
    evening: EveningRecord, snooze_minutes: int, *, snooze: bool = True
) -> InlineKeyboardMarkup:
    first = [InlineKeyboardButton("✅ Taken", callback_data=callbacks.reminder(evening.id, TAKEN))]
    if snooze:
        first.append(
            InlineKeyboardButton(
                f"⏰ Snooze {snooze_minutes} min",
                callback_data=callbacks.reminder(evening.id, SNOOZE),
            )
        )
    rows = [
        first,
        [InlineKeyboardButton("Skip tonight", callback_data=callbacks.reminder(evening.id, SKIP))],
    ]
    if evening.step_up:
        rows.append(
            [
                InlineKeyboardButton(
                    "Stay on my current dose", callback_data=callbacks.reminder(evening.id, HOLD)
                )
            ]
        )
    return InlineKeyboardMarkup(rows)


def recorded_html(evening: EveningRecord, *, already: bool = False) -> str:
    """The reminder, edited to show what was recorded for its evening."""
    base = reminder_html(evening)
    when = day(evening.evening)
    prefix = "Already recorded" if already else "Recorded"
    if evening.outcome == "taken":
        return f"{base}\n\n✅ <b>{prefix}: taken</b> for {when}. Thank you!"
    if evening.outcome == "skipped":
        return (
            f"{base}\n\n⏭ <b>{prefix}: skipped</b> for {when}. If you're not sure what to do "
            "about a skipped dose, please ask your clinic."
        )
    if evening.outcome == "missed":
        return f"{base}\n\n<i>{when} is recorded as missed.</i>"
    return base


def held_html(evening: EveningRecord, days: int) -> str:
    stay = mg(evening.previous_mg or evening.dose_mg)
    return (
        f"🌙 <b>{escape(evening.label)}: {mg(evening.dose_mg)} mg</b>\n"
        f"🛑 <b>Staying on {stay} mg</b> for {days} more days. I won't change your dose: "
        "please tell your clinic that you stayed on your current dose, so they can plan your "
        "next step with you."
    )


def snoozed_html(evening: EveningRecord, at_local: str) -> str:
    return f"{reminder_html(evening)}\n\n⏰ <i>Snoozed: I'll remind you again at {at_local}.</i>"


def regimen_summary(stored: StoredRegimen, today: date) -> str:
    r = stored.regimen
    lines = [
        f"<b>Your plan: {escape(r.plan_title or r.plan_name)}</b>",
        f"Started: {long_day(r.start)}" if r.start <= today else f"Starts: {long_day(r.start)}",
        f"Reminder: {r.at:%H:%M} ({escape(r.timezone)})",
        f"Steps: {describe_steps(r.steps)}",
    ]
    state = pause_line(stored)
    if state:
        lines.append(state)
    return "\n".join(lines)


def pause_line(stored: StoredRegimen) -> str:
    if stored.pause.state is Pause.STOPPED:
        return "Reminders are <b>stopped</b> (/resume to turn them back on)."
    if stored.pause.state is Pause.PAUSED:
        if stored.pause.until is None:
            return "Reminders are <b>paused</b> until you /resume."
        return f"Reminders are <b>paused</b> until {day(stored.pause.until)}."
    return ""


def schedule_html(regimen: Regimen, today: date) -> str:
    """The plan step by step with dates (holds applied), and where the patient is now."""
    lines = [f"<b>Schedule: {escape(regimen.plan_title or regimen.plan_name)}</b>"]
    changes = regimen.step_changes()
    current = regimen.tonight(today)
    for index, (first, night) in enumerate(changes):
        if index + 1 < len(changes):
            last = changes[index + 1][0] - timedelta(days=1)
            span = f"{day(first)} – {day(last)}"
        else:
            span = f"from {day(first)}"
        what = "maintenance" if night.maintenance else f"step {night.step + 1}"
        line = f"• {span}: <b>{mg(night.dose_mg)} mg</b> ({what})"
        if current is not None and current.step == night.step:
            line += "  ◀ <i>you are here</i>"
        lines.append(line)
    if current is None:
        lines.append(f"\nYour plan starts on {long_day(regimen.start)}.")
    else:
        lines.append(
            f"\nTonight ({day(today)}): {escape(current.label)}, {mg(current.dose_mg)} mg."
        )
        if current.held:
            lines.append("You are staying on your current dose for now (a hold you chose).")
    lines.append("I follow your clinic's plan and never change your dose myself.")
    return "\n".join(lines)


def plan_choice_label(plan: TitrationPlan) -> str:
    return f"{plan.title}: {describe_steps(plan.steps)}"[:60]


PAUSE_NOTE = (
    "Your plan's calendar keeps running while reminders are paused: the steps stay on their "
    "dates. A break in taking LDN is something to plan with your clinic."
)
NO_REGIMEN = "You don't have a reminder plan yet. Send /plan to set one up."
