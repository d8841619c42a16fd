"""/forget: delete everything stored about this chat, after a confirmation."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType

from bot import callbacks, render, texts
from bot.context import BotContext
from bot.handlers.common import edit_html, send_html
from bot.inbox import current_attempt

log = logging.getLogger(__name__)


async def forget(update: Update, context: BotContext) -> None:
    """Ask for confirmation before deleting this chat's data."""
    message = update.effective_message
    if message is None:
        return
    # A reply to the /forget message: in a group, only its sender may confirm.
    await message.reply_html(texts.FORGET_CONFIRM, reply_markup=render.forget_keyboard())


async def forget_button(update: Update, context: BotContext) -> None:
    """Delete (f:yes) or keep (f:no) this chat's data."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    decoded = callbacks.decode(query.data)
    if decoded is None or decoded.value not in ("yes", "no"):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    asked = query.message.reply_to_message if isinstance(query.message, Message) else None
    asker = asked.from_user if asked is not None else None
    if chat.type != ChatType.PRIVATE and (asker is None or asker.id != query.from_user.id):
        await query.answer(texts.FORGET_NOT_YOURS, show_alert=True)
        return
    await query.answer()
    if decoded.value == "no":
        await edit_html(query, texts.FORGET_KEPT)
        return
    services = context.services
    attempt = current_attempt()  # messages sent after this tap are kept, to be answered
    deleted = await services.db(
        services.require_store().forget_chat,
        chat.id,
        sent_after=attempt.update_id if attempt is not None else None,
    )
    log.info("chat data forgotten on request: %d rows", deleted)
    if not await edit_html(query, texts.FORGET_DONE):
        await send_html(update, context, [texts.FORGET_DONE])


async def stale_button(update: Update, context: BotContext) -> None:
    """Answer any button the bot does not recognise (old or forged)."""
    query = update.callback_query
    if query is not None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
