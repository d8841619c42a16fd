"""/plan: a guided setup with buttons, kept as a row in the store (not in memory), so a restart
or a second process continues it. Order: plan, time zone (so "today" means the patient's
today), start date, reminder time, a preview, Confirm. /plan again shows and edits.

Typed answers (a date, a time, a place) are replies to the bot's prompt (ForceReply), so any
other message during the setup is still a question for the engine.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from telegram import ForceReply, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop

from bot import callbacks
from bot import reminder_texts as rt
from bot.context import BotContext, Services
from bot.handlers.common import edit_html, send_html
from bot.handlers.plan_stages import (
    draft_regimen,
    patient_today,
    plan_button_for,
    stage_message,
)
from bot.sender import Delivery, SendFailed
from bot.texts import STALE_BUTTON, escape
from reminders import PlanError, find_zone, suggest_zones
from reminders.parsing import parse_date, parse_time
from reminders.plan import mg
from store.records import Draft

PROMPT_START = "Type the start date"
PROMPT_TIME = "Type the reminder time"
PROMPT_ZONE = "Type your city, country or time zone"
PROMPTS = (PROMPT_START, PROMPT_TIME, PROMPT_ZONE)
EARLIEST_START = timedelta(days=365)  # a start this long ago is surely a typo
LATEST_START = timedelta(days=365)


async def plan(update: Update, context: BotContext) -> None:
    """Start the reminder setup, continue it, or show the regimen with ways to change it."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    store = services.require_store()
    draft = await services.db(store.get_draft, chat.id)
    if draft is not None and services.require_plans().get(draft.plan_name or "") is None:
        draft = None  # the plan it chose was removed from the clinic's file
    if draft is not None:
        text, markup = stage_message(services, draft)
        await send_html(update, context, ["Let's carry on where we left off.\n\n" + text], markup)
        return
    stored = await services.db(store.get_regimen, chat.id)
    if stored is not None:
        today = stored.regimen.evening_of(services.clock())
        rows = [
            [
                plan_button_for("Change plan", "edit", "plan"),
                plan_button_for("Change time zone", "edit", "zone"),
            ],
            [
                plan_button_for("Change start", "edit", "start"),
                plan_button_for("Change time", "edit", "time"),
            ],
        ]
        text = rt.regimen_summary(stored, today) + "\n\nWhat would you like to change?"
        await send_html(update, context, [text], InlineKeyboardMarkup(rows))
        return
    draft = await services.db(store.save_draft, chat.id, "plan", services.clock())
    text, markup = stage_message(services, draft)
    await send_html(update, context, [text], markup)


async def plan_button(update: Update, context: BotContext) -> None:
    """A choice in the setup: plan, zone, start, time, ok, edit or cancel."""
    query = update.callback_query
    chat = update.effective_chat
    decoded = callbacks.decode(query.data if query else None)
    if query is None or chat is None or decoded is None or ":" not in decoded.value:
        if query is not None:
            await query.answer(STALE_BUTTON, show_alert=True)
        return
    field, value = decoded.value.split(":", 1)
    services = context.services
    store = services.require_store()
    now = services.clock()
    if field == "edit":
        await _edit(update, context, value)
        return
    draft = await services.db(store.get_draft, chat.id)
    if field == "cancel":
        await query.answer()
        await services.db(store.delete_draft, chat.id)
        await edit_html(query, "Setup cancelled; nothing was changed. Send /plan to start again.")
        return
    if draft is None:
        await query.answer("This setup has finished. Send /plan to start again.", show_alert=True)
        return
    if field == "ok":
        await _confirm(update, context, draft)
        return
    if value == "?":
        await query.answer()
        await _prompt(context, chat.id, field)
        return
    changes: dict[str, object] = {}
    if field == "plan" and services.require_plans().get(value) is not None:
        changes["plan_name"] = value
    elif field == "zone" and find_zone(value) == value:
        changes["timezone"] = value
    elif field == "start":
        with contextlib.suppress(ValueError):
            changes["start_date"] = date.fromisoformat(value)
    elif field == "time" and len(value) == 4 and value.isdigit():
        parsed = parse_time(f"{value[:2]}:{value[2:]}")
        if parsed is not None:
            changes["remind_at"] = parsed
    if not changes:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    updated = await services.db(store.save_draft, chat.id, "next", now, **changes)  # type: ignore[arg-type]
    text, markup = stage_message(services, updated)
    if not await edit_html(query, text, markup):
        await send_html(update, context, [text], markup)


async def _edit(update: Update, context: BotContext, field: str) -> None:
    """Change one part: a draft from the regimen (or the current draft) without that field."""
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    services = context.services
    store = services.require_store()
    if field not in ("plan", "zone", "start", "time"):
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    now = services.clock()
    draft = await services.db(store.get_draft, chat.id)
    if draft is None:
        stored = await services.db(store.get_regimen, chat.id)
        if stored is None:
            draft = await services.db(store.save_draft, chat.id, "plan", now)
        else:
            r = stored.regimen
            await services.db(
                store.save_draft,
                chat.id,
                "edit",
                now,
                plan_name=r.plan_name,
                start_date=r.start,
                remind_at=r.at,
                timezone=r.timezone,
            )
    draft = await services.db(_clear_field, services, chat.id, field)
    text, markup = stage_message(services, draft)
    if not await edit_html(query, text, markup):
        await send_html(update, context, [text], markup)


def _clear_field(services: Services, chat_id: int, field: str) -> Draft:
    """The draft with one field emptied (the store's save_draft keeps fields left None)."""
    store = services.require_store()
    draft = store.get_draft(chat_id)
    assert draft is not None
    store.delete_draft(chat_id)
    keep = {
        "plan_name": draft.plan_name if field != "plan" else None,
        "timezone": draft.timezone if field != "zone" else None,
        "start_date": draft.start_date if field != "start" else None,
        "remind_at": draft.remind_at if field != "time" else None,
    }
    return store.save_draft(chat_id, field, services.clock(), **keep)  # type: ignore[arg-type]


async def _confirm(update: Update, context: BotContext, draft: Draft) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    services = context.services
    store = services.require_store()
    try:
        regimen = draft_regimen(services, draft)
    except PlanError:
        await query.answer("Something is missing; let's finish the setup first.")
        text, markup = stage_message(services, draft)
        await send_html(update, context, [text], markup)
        return
    await query.answer("Saved")
    now = services.clock()
    stored = await services.db(store.save_regimen, chat.id, regimen, now)
    await services.db(store.delete_draft, chat.id)
    first = stored.next_evening
    night = regimen.tonight(first)
    dose = f": {mg(night.dose_mg)} mg" if night is not None else ""
    text = (
        "✅ <b>All set.</b>\n\n"
        f"Your first reminder: {rt.long_day(first)} at {regimen.at:%H:%M}{dose}.\n"
        "Each reminder has buttons: <b>Taken</b>, <b>Snooze</b> and <b>Skip tonight</b>.\n\n"
        "/today shows tonight's dose, /schedule the whole plan, /pause or /stop silence "
        "reminders, /time and /timezone change when they come, and /plan changes the setup. "
        "I follow your clinic's plan and never change your dose."
    )
    if not await edit_html(query, text):
        await send_html(update, context, [text])


async def _prompt(context: BotContext, chat_id: int, field: str, problem: str = "") -> None:
    """Ask for a typed answer as a reply to this message (ForceReply)."""
    if field == "start":
        text, placeholder = f"{PROMPT_START}, for example 2026-12-07 or 7 Dec.", "7 Dec"
    elif field == "time":
        text, placeholder = f"{PROMPT_TIME} as HH:MM, for example 21:15.", "21:15"
    else:
        text, placeholder = f"{PROMPT_ZONE}, for example Lisbon, Canada or Europe/Paris.", "Lisbon"
    if problem:
        text = f"{problem}\n\n{text}"
    result = await context.services.require_sender().call(
        chat_id,
        lambda bot: bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(input_field_placeholder=placeholder),
        ),
        what="sendMessage",
    )
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)


def _prompt_field(message: Message, bot_id: int) -> str | None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    text = replied.text or ""
    for prompt, field in ((PROMPT_START, "start"), (PROMPT_TIME, "time"), (PROMPT_ZONE, "zone")):
        if prompt in text:
            return field
    return None


async def plan_reply(update: Update, context: BotContext) -> None:
    """A typed start date, time or place in reply to a setup prompt; other text passes on."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    field = _prompt_field(message, context.bot.id)
    if field is None:
        return  # not an answer to the setup: the question handlers take it
    services = context.services
    store = services.require_store()
    draft = await services.db(store.get_draft, chat.id)
    if draft is None:
        await send_html(update, context, ["This setup has finished. Send /plan to start again."])
        raise ApplicationHandlerStop
    now = services.clock()
    text = message.text
    changes: dict[str, object] = {}
    if field == "start":
        today = patient_today(services, draft.timezone)
        parsed = parse_date(text, today)
        if parsed is None:
            await _prompt(context, chat.id, field, "Sorry, I couldn't read that as a date.")
            raise ApplicationHandlerStop
        if not today - EARLIEST_START <= parsed <= today + LATEST_START:
            await _prompt(
                context, chat.id, field, "That date is more than a year away; please check it."
            )
            raise ApplicationHandlerStop
        changes["start_date"] = parsed
    elif field == "time":
        parsed_time = parse_time(text)
        if parsed_time is None:
            await _prompt(context, chat.id, field, "Sorry, I couldn't read that as a time.")
            raise ApplicationHandlerStop
        changes["remind_at"] = parsed_time
    else:
        zone = find_zone(text)
        if zone is None:
            await _zone_suggestions(update, context, text)
            raise ApplicationHandlerStop
        changes["timezone"] = zone
    updated = await services.db(store.save_draft, chat.id, "next", now, **changes)  # type: ignore[arg-type]
    reply, markup = stage_message(services, updated)
    await send_html(update, context, [reply], markup)
    raise ApplicationHandlerStop


async def _zone_suggestions(update: Update, context: BotContext, text: str) -> None:
    chat = update.effective_chat
    assert chat is not None
    close = suggest_zones(text)
    shown = escape(text.strip()[:40])
    if close:
        buttons = [[plan_button_for(zone, "zone", zone)] for zone in close]
        await send_html(
            update,
            context,
            [f"I don't know “{shown}”. Did you mean one of these?"],
            InlineKeyboardMarkup(buttons),
        )
        await _prompt(context, chat.id, "zone", "Or type it again:")
    else:
        await _prompt(context, chat.id, "zone", f"Sorry, I don't know “{shown}”.")
