"""A reminder's buttons, and the commands around reminders: /today, /schedule, /pause,
/resume, /stop, /time, /timezone."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot import reminder_texts as rt
from bot.context import BotContext
from bot.handlers.common import edit_html, send_html
from bot.handlers.history import send_schedule_chart
from bot.texts import STALE_BUTTON, escape
from reminders import COMMON_ZONES, HOLD_DAYS, Pause, find_zone, suggest_zones
from reminders.parsing import parse_time
from reminders.plan import mg
from store.records import Outcome
from store.regimens import StoredRegimen

log = logging.getLogger(__name__)

_OUTCOMES: dict[str, Outcome] = {rt.TAKEN: "taken", rt.SKIP: "skipped"}
PAUSE_CHOICES = (1, 3, 7, 14)
MAX_PAUSE_DAYS = 90


async def _own_regimen(update: Update, context: BotContext) -> tuple[int, StoredRegimen] | None:
    """The chat's regimen, or None after telling the patient how to set one up."""
    chat = update.effective_chat
    if chat is None:
        return None
    services = context.services
    stored = await services.db(services.require_store().get_regimen, chat.id)
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return None
    return chat.id, stored


async def reminder_button(update: Update, context: BotContext) -> None:
    """Taken, Snooze, Skip tonight or Stay on my current dose, for that reminder's evening."""
    query = update.callback_query
    chat = update.effective_chat
    decoded = callbacks.decode(query.data if query else None)
    if query is None or chat is None:
        return
    parts = decoded.value.split(":") if decoded is not None else []
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in "tskh" or not parts[1]:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    evening_id, choice = int(parts[0]), parts[1]
    services = context.services
    store = services.require_store()
    now = services.clock()
    minutes = services.config.reminders.snooze_minutes
    if choice in _OUTCOMES:
        tap = await services.db(store.record_outcome, chat.id, evening_id, _OUTCOMES[choice], now)
        if tap is None:
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        outcome = tap.evening.outcome
        await query.answer("Recorded" if tap.recorded else f"Already recorded: {outcome}")
        log.info("reminder tap recorded=%s", tap.recorded)
        await edit_html(query, rt.recorded_html(tap.evening, already=not tap.recorded))
        return
    evening = await services.db(store.get_evening, evening_id)
    if evening is None or evening.chat_id != chat.id:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    if choice == rt.SNOOZE:
        at = await services.db(store.snooze, chat.id, evening_id, now, minutes)
        if at is None:
            await query.answer("This evening is already answered or over.")
            await edit_html(query, rt.recorded_html(evening, already=True))
            return
        stored = await services.db(store.get_regimen, chat.id)
        zone = stored.regimen.zone if stored is not None else None
        local = f"{at.astimezone(zone):%H:%M}" if zone is not None else f"{at:%H:%M} UTC"
        await query.answer(f"I'll remind you again at {local}.")
        markup = rt.reminder_keyboard(evening, minutes, snooze=False)
        await edit_html(query, rt.snoozed_html(evening, local), markup)
        return
    # Stay on my current dose: hold the step, record it for the clinic, never change the dose.
    if now >= evening.ends_at:
        await query.answer(
            f"That step-up was on {rt.day(evening.evening)}. Please ask your clinic which dose "
            "to take now.",
            show_alert=True,
        )
        return
    result = await services.db(store.hold_step, chat.id, evening_id, now, HOLD_DAYS)
    if result is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    held, added = result
    stay = held.previous_mg or held.dose_mg
    if added:
        await services.db(
            store.record_event, chat.id, "hold", now, ref=f"{held.evening.isoformat()}:{held.step}"
        )
    await query.answer(f"Staying on {mg(stay)} mg" if added else "Already recorded")
    await edit_html(query, rt.held_html(held, HOLD_DAYS), rt.reminder_keyboard(held, minutes))


async def today(update: Update, context: BotContext) -> None:
    """Tonight's dose, step and what has been recorded."""
    found = await _own_regimen(update, context)
    if found is None:
        return
    chat_id, stored = found
    services = context.services
    store = services.require_store()
    regimen = stored.regimen
    evening = regimen.evening_of(services.clock())
    night = regimen.tonight(evening)
    if night is None:
        text = f"Your plan starts on {rt.long_day(regimen.start)}."
        await send_html(update, context, [text])
        return
    row = await services.db(store.evening_for, chat_id, evening)
    lines = [
        f"<b>Tonight ({rt.day(evening)}): {escape(night.label)}, {mg(night.dose_mg)} mg</b>",
        f"Reminder at {regimen.at:%H:%M} ({escape(regimen.timezone)}).",
    ]
    if night.step_up:
        lines.append(
            f"📈 Tonight your plan steps up from {mg(night.previous_mg or night.dose_mg)} mg."
        )
    if night.held:
        lines.append("You are staying on your current dose for now.")
    if row is not None:
        status = {
            "taken": "✅ recorded as taken",
            "skipped": "⏭ recorded as skipped",
            "missed": "recorded as missed",
        }.get(row.outcome)
        if status is None:
            status = {
                "sent": "reminder sent, nothing recorded yet",
                "unknown": "reminder sent (not confirmed), nothing recorded yet",
                "not_sent": "no reminder was sent tonight",
                "blocked": "no reminder could be sent tonight",
            }.get(row.delivery, "reminder on its way")
        lines.append(f"Tonight: {status}.")
    state = rt.pause_line(stored)
    if state:
        lines.append(state)
    await send_html(update, context, ["\n".join(lines)])


async def schedule(update: Update, context: BotContext) -> None:
    """The plan as text, with where the patient is in it."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    stored = await services.db(services.require_store().get_regimen, chat.id)
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return
    today_ = stored.regimen.evening_of(services.clock())
    await send_html(update, context, [rt.schedule_html(stored.regimen, today_)])
    await send_schedule_chart(update, context, stored)


def _pause_keyboard() -> InlineKeyboardMarkup:
    days = [
        InlineKeyboardButton(f"{n} day{'s' if n > 1 else ''}", callback_data=callbacks.pause(n))
        for n in PAUSE_CHOICES
    ]
    until = InlineKeyboardButton("Until I /resume", callback_data=callbacks.pause(0))
    return InlineKeyboardMarkup([days, [until]])


async def pause(update: Update, context: BotContext) -> None:
    """Silence reminders for N days (/pause 3) or until /resume; the calendar keeps running."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    stored = await services.db(services.require_store().get_regimen, chat.id)
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return
    args = context.args or []
    if not args:
        text = "For how long should I pause your reminders?\n\n" + rt.PAUSE_NOTE
        await send_html(update, context, [text], _pause_keyboard())
        return
    if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_PAUSE_DAYS:
        text = f"Please give a number of days from 1 to {MAX_PAUSE_DAYS}, like /pause 3."
        await send_html(update, context, [text], _pause_keyboard())
        return
    await send_html(update, context, [await _pause(context, chat.id, int(args[0]))])


async def pause_button(update: Update, context: BotContext) -> None:
    """A /pause choice: w:<days>, 0 for until /resume."""
    query = update.callback_query
    chat = update.effective_chat
    decoded = callbacks.decode(query.data if query else None)
    if query is None or chat is None:
        return
    if decoded is None or not decoded.value.isdigit() or int(decoded.value) > MAX_PAUSE_DAYS:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    text = await _pause(context, chat.id, int(decoded.value))
    if not await edit_html(query, text):
        await send_html(update, context, [text])


async def _pause(context: BotContext, chat_id: int, days: int) -> str:
    services = context.services
    store = services.require_store()
    now = services.clock()
    stored = await services.db(store.get_regimen, chat_id)
    if stored is None:
        return rt.NO_REGIMEN
    evening = stored.regimen.evening_of(now)
    until = evening + timedelta(days=days) if days else None
    # Tonight counts as the first paused evening unless its reminder has already gone out.
    row = await services.db(store.evening_for, chat_id, evening)
    if until is not None and row is not None:
        until += timedelta(days=1)
    await services.db(store.set_pause, chat_id, Pause.PAUSED, now, until=until)
    when = f"until {rt.day(until)}" if until is not None else "until you send /resume"
    return f"⏸ Reminders paused {when}.\n\n{rt.PAUSE_NOTE}"


async def resume(update: Update, context: BotContext) -> None:
    """Turn reminders back on after /pause or /stop."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    stored = await services.db(
        services.require_store().set_pause, chat.id, Pause.ACTIVE, services.clock()
    )
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return
    night = stored.regimen.tonight(stored.next_evening)
    dose = f" ({mg(night.dose_mg)} mg)" if night is not None else ""
    text = (
        f"▶️ Reminders are back on. Next: {rt.long_day(stored.next_evening)} at "
        f"{stored.regimen.at:%H:%M}{dose}."
    )
    await send_html(update, context, [text])


async def stop(update: Update, context: BotContext) -> None:
    """Stop reminders; the plan and history are kept until /forget."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    stored = await services.db(
        services.require_store().set_pause, chat.id, Pause.STOPPED, services.clock()
    )
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return
    text = (
        "⏹ Reminders stopped. Your plan and what you recorded are kept: /resume turns "
        "reminders back on, and /forget deletes everything. If you are stopping LDN, please "
        "talk to your clinic."
    )
    await send_html(update, context, [text])


async def time_command(update: Update, context: BotContext) -> None:
    """Show or change the reminder time: /time 21:30."""
    found = await _own_regimen(update, context)
    if found is None:
        return
    chat_id, stored = found
    services = context.services
    store = services.require_store()
    args = " ".join(context.args or [])
    if not args:
        text = (
            f"Your reminder comes at <b>{stored.regimen.at:%H:%M}</b> "
            f"({escape(stored.regimen.timezone)}). To change it, send the new time, "
            "like <code>/time 21:30</code>."
        )
        await send_html(update, context, [text])
        return
    at = parse_time(args)
    if at is None:
        text = "Sorry, I couldn't read that as a time. Try <code>/time 21:30</code>."
        await send_html(update, context, [text])
        return
    updated = await services.db(store.update_reminder_time, chat_id, services.clock(), at=at)
    assert updated is not None
    text = (
        f"⏰ Reminder time set to <b>{at:%H:%M}</b> ({escape(updated.regimen.timezone)}). "
        f"Next reminder: {rt.long_day(updated.next_evening)}."
    )
    await send_html(update, context, [text])


async def timezone_command(update: Update, context: BotContext) -> None:
    """Show or change the time zone: /timezone Europe/Lisbon (or a city or country)."""
    found = await _own_regimen(update, context)
    if found is None:
        return
    chat_id, stored = found
    services = context.services
    store = services.require_store()
    args = " ".join(context.args or [])
    if not args:
        examples = ", ".join(z.split("/")[-1].replace("_", " ") for z in COMMON_ZONES[:4])
        text = (
            f"Your time zone is <b>{escape(stored.regimen.timezone)}</b>. To change it, send "
            f"your city, country or time zone, like <code>/timezone Lisbon</code> ({examples}…)."
        )
        await send_html(update, context, [text])
        return
    zone = find_zone(args)
    if zone is None:
        close = suggest_zones(args)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        text = f"Sorry, I don't know “{escape(args[:40])}”.{hint}"
        await send_html(update, context, [text])
        return
    updated = await services.db(
        store.update_reminder_time, chat_id, services.clock(), timezone=zone
    )
    assert updated is not None
    text = (
        f"🌍 Time zone set to <b>{escape(zone)}</b>: reminders at "
        f"{updated.regimen.at:%H:%M} local time, from {rt.long_day(updated.next_evening)}."
    )
    await send_html(update, context, [text])
