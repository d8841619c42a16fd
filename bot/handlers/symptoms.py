"""Symptom check-ins' buttons (``c:``) and /checkins (turn them off and on).

Taps are idempotent (one row per item; tapping another severity changes it in place) and
belong to the check-in's evening. A severe side effect goes through the engine like a typed
question, so the safety rules answer first when they match; otherwise the patient gets the
clinic's contact. Either way the store records it as a ``severe-side-effect`` event for the
clinic, once per item. Never dosing advice.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update

from bot import callbacks, render
from bot import checkin_texts as ct
from bot.context import BotContext, Services
from bot.handlers.checkin import send_checkin
from bot.handlers.common import edit_html, remember_chat, send_html
from bot.texts import STALE_BUTTON
from knowledge import Status
from store import CheckinRecord, UnknownChatError
from store.checkins import CHECKINS_PREFERENCE

log = logging.getLogger(__name__)


async def symptom_button(update: Update, context: BotContext) -> None:
    """A tap on a symptom check-in: pick a side effect, say how bad, a pain score, or done."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    decoded = callbacks.decode_symptom(query.data)
    choice = ct.parse_choice(decoded[1]) if decoded is not None else None
    services = context.services
    store = services.require_store()
    checkin = await services.db(store.get_checkin, decoded[0]) if decoded is not None else None
    if decoded is None or choice is None or checkin is None or checkin.chat_id != chat.id:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    if choice.action == "pick" and choice.item is not None and checkin.kind == "side_effects":
        await query.answer()
        answers = await services.db(store.answers_for_checkin, checkin.id)
        current = next((a for a in answers if a.item == choice.item), None)
        await edit_html(
            query,
            ct.severity_html(checkin, choice.item, current),
            ct.severity_keyboard(checkin, choice.item),
        )
        return
    if choice.action in ("back", "done"):
        await query.answer()
        await _show(query, services, checkin, finished=choice.action == "done")
        return
    assert choice.item is not None
    tap = await services.db(
        store.record_checkin_answer,
        chat.id,
        checkin.id,
        choice.item,
        services.clock(),
        severity=choice.severity,
        score=choice.score,
        user_id=query.from_user.id,
    )
    if tap is None:  # an answer that does not fit this check-in: a forged button
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    log.debug(
        "symptom check-in tap: kind=%s recorded=%s changed=%s",
        checkin.kind,
        tap.recorded,
        tap.changed,
    )
    await query.answer(
        "Changed" if tap.changed else "Recorded" if tap.recorded else "Already recorded"
    )
    await _show(query, services, checkin, finished=choice.item == "none")
    # Answered again on a second tap (or when the inbox retries this update after a failed
    # send): guidance seen twice beats guidance lost. The event was recorded once, with the tap.
    if choice.severity == "severe" and tap.answer.severity == "severe":
        await _severe(update, context, tap.answer.item)


async def _show(
    query: CallbackQuery, services: Services, checkin: CheckinRecord, *, finished: bool
) -> None:
    """Redraw the check-in's message as it now stands. An evening's two check-ins share one
    message: once the side effects are done, the same message asks for the pain score, and
    the pain score keeps the side effects' record above it."""
    store = services.require_store()
    answers = await services.db(store.answers_for_checkin, checkin.id)
    other = await services.db(store.companion_checkin, checkin)
    if checkin.kind == "side_effects":
        pain = other if other is not None and other.kind == "pain" else None
        if not finished:
            html = ct.checkin_html(checkin, answers, then_pain=pain is not None)
            await edit_html(query, html, ct.checkin_keyboard(checkin, answers))
            return
        if pain is None:
            await edit_html(query, ct.finished_html(checkin, answers))
            return
        effects = answers
        checkin, answers = pain, await services.db(store.answers_for_checkin, pain.id)
    else:
        effects = await services.db(store.answers_for_checkin, other.id) if other else []
    # The pain score, alone or below the side effects it was sent with.
    if answers:
        await edit_html(query, ct.finished_html(checkin, [*effects, *answers]))
        return
    before = ct.recorded_html(checkin, effects) if other is not None else ""
    html = ct.checkin_html(checkin, answers, before=before)
    await edit_html(query, html, ct.checkin_keyboard(checkin, answers))


async def _severe(update: Update, context: BotContext, item: str) -> None:
    """Put a severe side effect to the engine (safety first), then point to the clinic;
    never a change of dose."""
    services = context.services
    reply = services.engine.ask(ct.severe_question(item))
    if reply.status is Status.SAFETY:
        await send_html(update, context, render.reply_html(reply), urgent=True)
        return
    if reply.checkin is not None:
        await send_checkin(update, context, reply.checkin)
    places = services.engine.clinic.placeholders()
    await send_html(update, context, [ct.severe_html(item, places)])


async def checkins(update: Update, context: BotContext) -> None:
    """Show, or turn off and on, the symptom check-ins: /checkins off, /checkins on."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    store = services.require_store()
    arg = (context.args or [""])[0].lower()
    if arg not in ("on", "off"):
        enabled = await services.db(store.checkins_enabled, chat.id)
        state = "on" if enabled else "off"
        other = "off" if enabled else "on"
        text = (
            f"Symptom check-ins are <b>{state}</b>. A few days after each dose increase I ask "
            "how it is going, and once a week I ask for a pain score; your answers show in "
            f"/history. Send <code>/checkins {other}</code> to turn them {other}."
        )
        await send_html(update, context, [text])
        return
    now = services.clock()
    try:
        await services.db(store.set_preference, chat.id, CHECKINS_PREFERENCE, arg, now)
    except UnknownChatError:
        # A chat forgotten (or never recorded) is recorded again before its setting is kept.
        services.forget_seen(chat.id)
        await remember_chat(update, context)
        await services.db(store.set_preference, chat.id, CHECKINS_PREFERENCE, arg, now)
    if arg == "off":
        text = "Symptom check-ins are off. Send /checkins on to turn them back on."
    else:
        text = "Symptom check-ins are on. /history shows your answers."
    await send_html(update, context, [text])
