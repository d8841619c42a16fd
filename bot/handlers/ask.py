"""Free-text questions and the buttons that answer a topic."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType, MessageEntityType, ParseMode

from bot import callbacks, render, texts
from bot.context import BotContext
from bot.handlers.common import NO_PREVIEW, remember_chat, send_html
from knowledge import Reply, Status

log = logging.getLogger(__name__)


def addressed_text(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The question in a message, or None when a group message is not meant for the bot."""
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    reply_to = message.reply_to_message
    if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower()
    for entity, value in message.parse_entities([MessageEntityType.MENTION]).items():
        if value.lower() == mention:
            return (text[: entity.offset] + text[entity.offset + entity.length :]).strip()
    return None


async def question(update: Update, context: BotContext) -> None:
    """Answer a question typed in free text."""
    message = update.effective_message
    if message is None:
        return
    text = addressed_text(message, context.bot.id, context.bot.username)
    if text is None:
        return
    services = context.services
    reply = services.engine.ask(text)
    # Logged without the text: patients' words and health data stay out of INFO logs.
    log.info("question answered: status=%s entry=%s", reply.status.value, reply.entry_id)
    # The patient's answer goes out first; bookkeeping follows.
    await send_html(update, context, render.reply_html(reply), _keyboard(reply))
    await remember_chat(update, context)
    if reply.status in (Status.FALLBACK, Status.CLARIFY) and reply.entry_id is None:
        store = services.require_store()
        normalised = services.engine.normalise(text)
        await services.db(store.record_unanswered, normalised, reply.status.value, services.clock())


def _keyboard(reply: Reply) -> render.InlineKeyboardMarkup | None:
    if reply.status is Status.CLARIFY:
        return render.clarify_keyboard(reply)
    if reply.status is Status.FALLBACK:
        return render.browse_keyboard()
    return None


async def answer_button(update: Update, context: BotContext) -> None:
    """Answer the topic on a pressed button: in place (a:) or as a new message (q:)."""
    query = update.callback_query
    if query is None:
        return
    decoded = callbacks.decode(query.data)
    engine = context.services.engine
    entry = engine.entry(decoded.value) if decoded is not None else None
    if decoded is None or entry is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    reply = engine.answer_entry(entry.id)
    assert reply is not None  # the entry exists
    messages = render.reply_html(reply)
    back = render.back_keyboard(entry.category)
    if decoded.action == "a" and isinstance(query.message, Message) and len(messages) == 1:
        await query.edit_message_text(
            messages[0],
            parse_mode=ParseMode.HTML,
            reply_markup=back,
            link_preview_options=NO_PREVIEW,
        )
        return
    await send_html(update, context, messages, back)
