"""Small helpers the handlers share: sending rendered replies, recording chats."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode

from bot.context import BotContext

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
CHAT_KINDS = {"private": "private", "group": "group", "supergroup": "supergroup"}


async def send_html(
    update: Update,
    context: BotContext,
    messages: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Send messages to the update's chat; the keyboard goes on the last one."""
    chat = update.effective_chat
    if chat is None:
        return None
    sent = None
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        sent = await context.bot.send_message(
            chat_id=chat.id,
            text=text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if last else None,
            link_preview_options=NO_PREVIEW,
        )
    return sent


async def remember_chat(update: Update, context: BotContext, *, started: bool = False) -> None:
    """Record that this chat uses the bot (for later reminders and broadcasts)."""
    chat = update.effective_chat
    if chat is None or chat.type not in CHAT_KINDS:
        return
    services = context.services
    now = services.clock()
    if not services.needs_seen_write(chat.id, now) and not started:
        return
    user = update.effective_user
    await services.db(
        services.require_store().record_chat,
        chat.id,
        CHAT_KINDS[chat.type],
        now,
        started,
        user.language_code if user else None,
    )
