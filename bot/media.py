"""Photos and documents sent in reply (the chart, /mydata's file), through the one sender's
interactive lane like every reply, failing the same way (:class:`~bot.sender.SendFailed`)."""

from __future__ import annotations

from telegram import Message, Update

from bot.context import BotContext
from bot.sender import Delivery, SendFailed


async def send_photo(
    update: Update, context: BotContext, png: bytes, *, filename: str, caption: str | None = None
) -> Message | None:
    """Send a PNG to the update's chat (sendPhoto)."""
    chat = update.effective_chat
    if chat is None:
        return None
    result = await context.services.require_sender().call(
        chat.id,
        lambda bot: bot.send_photo(
            chat_id=chat.id, photo=png, filename=filename, caption=caption, parse_mode="HTML"
        ),
        what="sendPhoto",
    )
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)
    return result.value


async def send_document(
    update: Update, context: BotContext, data: bytes, *, filename: str, caption: str | None = None
) -> Message | None:
    """Send a file to the update's chat (sendDocument)."""
    chat = update.effective_chat
    if chat is None:
        return None
    result = await context.services.require_sender().call(
        chat.id,
        lambda bot: bot.send_document(
            chat_id=chat.id, document=data, filename=filename, caption=caption, parse_mode="HTML"
        ),
        what="sendDocument",
    )
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)
    return result.value
