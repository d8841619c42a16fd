"""Photos and documents sent in reply (the chart, /mydata's file), through the one sender's
interactive lane like every reply, failing the same way (:class:`~bot.sender.SendFailed`)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal

from telegram import Bot, Message, Update

from bot.context import BotContext
from bot.sender import Delivery, SendFailed


async def send_photo(
    update: Update, context: BotContext, png: bytes, *, filename: str, caption: str | None = None
) -> Message | None:
    """Send a PNG to the update's chat (sendPhoto)."""
    return await _send_file(update, context, "photo", png, filename, caption)


async def send_document(
    update: Update, context: BotContext, data: bytes, *, filename: str, caption: str | None = None
) -> Message | None:
    """Send a file to the update's chat (sendDocument)."""
    return await _send_file(update, context, "document", data, filename, caption)


async def _send_file(
    update: Update,
    context: BotContext,
    kind: Literal["photo", "document"],
    data: bytes,
    filename: str,
    caption: str | None,
) -> Message | None:
    chat = update.effective_chat
    if chat is None:
        return None

    def send(bot: Bot) -> Awaitable[Message]:
        if kind == "photo":
            return bot.send_photo(
                chat_id=chat.id, photo=data, filename=filename, caption=caption, parse_mode="HTML"
            )
        return bot.send_document(
            chat_id=chat.id, document=data, filename=filename, caption=caption, parse_mode="HTML"
        )

    method = "sendPhoto" if kind == "photo" else "sendDocument"
    result = await context.services.require_sender().call(chat.id, send, what=method)
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)
    return result.value
