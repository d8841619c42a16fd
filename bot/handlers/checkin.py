"""Tier 2 of safety: a check-in when a message may be a crisis that no rule recognised.

The check-in goes first, worded by the likely kind, with "I need help now" and "I'm OK"; the
ordinary answer follows it. The store keeps events, never words: ``safety-checkin`` (ref: the
kind, user_id: the asker), then ``safety-help`` or ``safety-ok`` whose ref is the check-in's
event id. /forget deletes them with the rest of the chat.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType

from bot import callbacks, render, texts
from bot.context import BotContext
from bot.handlers.common import edit_html, send_html
from store import StoreError

log = logging.getLogger(__name__)

CHECKIN = "safety-checkin"
HELP = "safety-help"
OK = "safety-ok"


async def send_checkin(update: Update, context: BotContext, kind: str) -> None:
    """Ask first ("Are you safe right now?"): noted as an event that the buttons refer to."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    asker = update.effective_user
    try:
        event_id = await services.db(
            services.require_store().record_event,
            chat.id,
            CHECKIN,
            services.clock(),
            user_id=asker.id if asker else None,
            ref=kind,
        )
    except StoreError as exc:
        # No event, no working buttons: give the full safety answer rather than a question.
        log.warning("could not record a safety check-in: %s", type(exc).__name__)
        await _send_safety_answer(update, context, kind)
        return
    log.info("safety check-in sent: kind=%s", kind)
    await send_html(
        update,
        context,
        [texts.escape(texts.checkin(kind))],
        render.checkin_keyboard(event_id),
        urgent=True,
    )


async def checkin_button(update: Update, context: BotContext) -> None:
    """Answer a check-in: the full safety answer (h) or a noted "I'm OK" (o)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    decoded = callbacks.decode_checkin(query.data)
    services = context.services
    store = services.require_store()
    event = await services.db(store.get_event, decoded[0]) if decoded is not None else None
    if decoded is None or event is None or event.kind != CHECKIN or event.chat_id != chat.id:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if chat.type != ChatType.PRIVATE and event.user_id != query.from_user.id:
        await query.answer(texts.CHECKIN_NOT_YOURS, show_alert=True)
        return
    answered = await services.db(store.events_for_chat, chat.id, (HELP, OK))
    if any(e.ref == str(event.id) for e in answered):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    kind = event.ref or ""
    question = texts.escape(texts.checkin(kind))
    needs_help = decoded[1] == callbacks.CHECKIN_HELP
    if needs_help:
        await _send_safety_answer(update, context, kind)
    await services.db(
        store.record_event,
        chat.id,
        HELP if needs_help else OK,
        services.clock(),
        user_id=query.from_user.id,
        ref=str(event.id),
    )
    log.info("safety check-in answered: %s, kind=%s", "help now" if needs_help else "ok", kind)
    if needs_help:
        await edit_html(query, f"{question}\n\n<b>{texts.escape(texts.CHECKIN_HELP_SENT)}</b>")
        return
    done = texts.CHECKIN_OK_DONE.format(
        emergency=services.engine.clinic.placeholders()["emergency"]
    )
    await edit_html(query, f"{question}\n\n{texts.escape(done)}")


async def _send_safety_answer(update: Update, context: BotContext, kind: str) -> None:
    engine = context.services.engine
    reply = engine.safety_reply(kind) or engine.safety_reply("self-harm")
    if reply is None:  # a knowledge base without that rule: the emergency line at least
        emergency = engine.clinic.placeholders()["emergency"]
        await send_html(
            update, context, [texts.escape(f"Please call {emergency} now.")], urgent=True
        )
        return
    await send_html(update, context, render.reply_html(reply), urgent=True)
