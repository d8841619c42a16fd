"""The /plan setup's stages: which one comes next, and the message and buttons for it (also
shown when an enrolment link starts the setup)."""

from __future__ import annotations

from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot import reminder_texts as rt
from bot.context import Services
from bot.texts import escape
from reminders import COMMON_ZONES, PlanError, Regimen, evening_of
from reminders.plan import mg
from store.records import Draft

# -- the stages ----------------------------------------------------------------------------


def next_stage(draft: Draft) -> str:
    if draft.plan_name is None:
        return "plan"
    if draft.timezone is None:
        return "zone"
    if draft.start_date is None:
        return "start"
    if draft.remind_at is None:
        return "time"
    return "confirm"


def patient_today(services: Services, zone: str | None) -> date:
    return evening_of(services.clock(), zone or "UTC")


def plan_button_for(label: str, field: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callbacks.plan(field, value))


def button_rows(
    buttons: list[InlineKeyboardButton], width: int
) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _plan_label(services: Services, name: str) -> str:
    plan = services.require_plans().get(name)
    if plan is None:
        return name
    doses = [mg(s.dose_mg) for s in plan.steps]
    ladder = " → ".join(doses) if len(doses) <= 4 else f"{doses[0]} → {doses[-1]}"
    return f"{plan.title} ({ladder} mg)"


def stage_message(services: Services, draft: Draft) -> tuple[str, InlineKeyboardMarkup | None]:
    """The question for the draft's next stage, with its buttons."""
    stage = next_stage(draft)
    cancel = [plan_button_for("Cancel", "cancel")]
    if stage == "plan":
        book = services.require_plans()
        buttons = [plan_button_for(_plan_label(services, n), "plan", n) for n in book.names()]
        lines = [f"• <b>{escape(book.plans[n].title)}</b>: {book.plans[n].describe()}"
                 for n in book.names()]  # fmt: skip
        text = (
            "<b>Set up your dose reminders</b> (step 1 of 4)\n\n"
            "Which titration plan did your clinician prescribe?\n\n" + "\n".join(lines)
        )
        return text, InlineKeyboardMarkup([*button_rows(buttons, 1), cancel])
    if stage == "zone":
        buttons = [
            plan_button_for(z.split("/")[-1].replace("_", " "), "zone", z) for z in COMMON_ZONES
        ]
        text = (
            "<b>Your time zone</b> (step 2 of 4)\n\n"
            "Where are you? Reminders follow your local clock, also when the clocks change."
        )
        rows = [*button_rows(buttons, 2), [plan_button_for("Somewhere else…", "zone", "?")], cancel]
        return text, InlineKeyboardMarkup(rows)
    if stage == "start":
        today = patient_today(services, draft.timezone)
        tomorrow = today + timedelta(days=1)
        text = (
            "<b>Start date</b> (step 3 of 4)\n\n"
            "When do you take the first dose of this plan? (If you already started, choose "
            "the day you started.)"
        )
        buttons = [
            plan_button_for(f"Today ({rt.day(today)})", "start", today.isoformat()),
            plan_button_for(f"Tomorrow ({rt.day(tomorrow)})", "start", tomorrow.isoformat()),
            plan_button_for("Another date…", "start", "?"),
        ]
        return text, InlineKeyboardMarkup([*button_rows(buttons, 1), cancel])
    if stage == "time":
        buttons = [plan_button_for(t, "time", t.replace(":", "")) for t in rt.SUGGESTED_TIMES]
        text = (
            "<b>Reminder time</b> (step 4 of 4)\n\n"
            "When should I remind you each evening? LDN is usually taken in the evening, "
            "before bed."
        )
        rows = [*button_rows(buttons, 3), [plan_button_for("Another time…", "time", "?")], cancel]
        return text, InlineKeyboardMarkup(rows)
    regimen = draft_regimen(services, draft)
    today = patient_today(services, draft.timezone)
    text = (
        "<b>Please check your reminders</b>\n\n"
        f"Plan: <b>{escape(regimen.plan_title)}</b>\n"
        f"Start: {rt.long_day(regimen.start)}\n"
        f"Reminder: every evening at {regimen.at:%H:%M} ({escape(regimen.timezone)})\n\n"
        + rt.schedule_html(regimen, today)
    )
    rows = [
        [plan_button_for("✅ Confirm", "ok")],
        [
            plan_button_for("Change plan", "edit", "plan"),
            plan_button_for("Change zone", "edit", "zone"),
        ],
        [
            plan_button_for("Change start", "edit", "start"),
            plan_button_for("Change time", "edit", "time"),
        ],
        cancel,
    ]
    return text, InlineKeyboardMarkup(rows)


def draft_regimen(services: Services, draft: Draft) -> Regimen:
    plan = services.require_plans().get(draft.plan_name or "")
    if plan is None or draft.start_date is None or draft.remind_at is None:
        raise PlanError("the setup is not complete")
    return Regimen.from_plan(plan, draft.start_date, draft.remind_at, draft.timezone or "UTC")


# -- handlers ------------------------------------------------------------------------------
