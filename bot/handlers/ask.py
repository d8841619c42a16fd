"""Free-text questions and the buttons that answer a topic."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final, cast

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageEntityType

from bot import callbacks, render, texts
from bot.alerts import note_safety_answer
from bot.context import BotContext
from bot.handlers.checkin import send_checkin
from bot.handlers.common import edit_html, remember_chat, send_html
from knowledge import Reply, Status
from knowledge.engine import EMPTY
from store import StoreError, UnansweredStatus

log = logging.getLogger(__name__)
# An edited crisis message raises no second alert when its first version did: when the same
# answer was recorded from a little before its sending time (the bot's clock and Telegram's
# need not agree to the second) to a while after (a bot catching up after a restart). A later
# crisis of the same kind outside that window is alerted again: a duplicate is the safe way
# to fail.
EDIT_BEFORE: Final = timedelta(minutes=5)
EDIT_AFTER: Final = timedelta(minutes=30)


def addressed_text(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The question in a message, or None when a group message is not meant for the bot."""
    text = message.text or message.caption or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    reply_to = message.reply_to_message
    if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower()
    entities = (
        message.parse_entities([MessageEntityType.MENTION])
        if message.text
        else message.parse_caption_entities([MessageEntityType.MENTION])
    )
    for value in entities.values():
        if value.lower() == mention:
            # Removed by its text: entity offsets count UTF-16 units, not Python characters.
            return text.replace(value, " ", 1).strip()
    return None


def _asked(update: Update, context: BotContext) -> str | None:
    message = update.effective_message
    if message is None:
        return None
    return addressed_text(message, context.bot.id, context.bot.username)


async def question(update: Update, context: BotContext) -> None:
    """Answer a question typed in free text."""
    text = _asked(update, context)
    if text is None:
        return
    services = context.services
    reply = services.engine.ask(text)
    # Logged without the text: patients' words and health data stay out of INFO logs.
    log.info("question answered: status=%s entry=%s", reply.status.value, reply.entry_id)
    if reply.checkin is not None:  # tier 2: ask "are you safe?" before the ordinary answer
        await send_checkin(update, context, reply.checkin)
    # The patient's answer goes out first; bookkeeping follows.
    await send_html(
        update,
        context,
        render.reply_html(reply),
        _keyboard(reply),
        urgent=reply.status is Status.SAFETY,
    )
    if reply.status is Status.SAFETY:
        await note_safety_answer(update, context, reply.entry_id)
    try:
        await remember_chat(update, context)
        if _worth_keeping(reply):
            # The recorder keeps it scrubbed of names and numbers, with its day, not its time.
            status = cast(UnansweredStatus, reply.status.value)
            services.require_recorder().add(text, status, services.clock())
    except StoreError as exc:
        # The patient has their answer; a bookkeeping failure is the clinic's to see, not theirs.
        log.warning("could not record the question: %s", type(exc).__name__)


async def edited_question(update: Update, context: BotContext) -> None:
    """Read an edited message again for safety: an added crisis must not go unanswered."""
    text = _asked(update, context)
    if text is None:
        return
    reply = context.services.engine.ask(text)
    if reply.status is Status.SAFETY:
        log.info("edited message answered: status=safety entry=%s", reply.entry_id)
        await send_html(update, context, render.reply_html(reply), urgent=True)
        # The patient gets the answer again; staff get no second alert when the message as
        # first sent (its date) already raised this kind.
        edited = update.edited_message
        window = (edited.date - EDIT_BEFORE, edited.date + EDIT_AFTER) if edited else None
        await note_safety_answer(update, context, reply.entry_id, unless_between=window)
    elif reply.checkin is not None:
        await send_checkin(update, context, reply.checkin)


def _worth_keeping(reply: Reply) -> bool:
    """Fallbacks and clarifications the clinic could add answers for (not gaps, not "ok")."""
    unanswered = reply.status in (Status.FALLBACK, Status.CLARIFY)
    return unanswered and reply.entry_id is None and reply.answer != EMPTY


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
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
    if decoded.action == "a" and len(messages) == 1 and await edit_html(query, messages[0], back):
        return
    await send_html(update, context, messages, back)
