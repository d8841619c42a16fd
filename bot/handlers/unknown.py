"""Commands the bot does not know, and a message that is only "/": a short pointer to /help.

Staff commands answer anyone who is not staff by awaiting :func:`unknown_command`, so that to
a patient a staff command looks exactly like a typo."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import filters

from bot import texts
from bot.context import BotContext
from bot.handlers.common import send_html

# Telegram marks no entity on a lone "/", so it reaches the bot as plain text.
LONE_SLASH = filters.Regex(r"^\s*/\s*$")


def _addressed(message: Message, bot_id: int, bot_username: str) -> bool:
    """In a group, a command is for this bot only when it names it ("/foo@thisbot"); a lone
    "/" only when it replies to one of the bot's messages."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    entity = next(iter(message.entities), None)
    if entity is not None and entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
        _, at, target = message.parse_entity(entity).partition("@")
        return bool(at) and target.lower() == bot_username.lower()
    reply_to = message.reply_to_message
    return (
        reply_to is not None
        and reply_to.from_user is not None
        and (reply_to.from_user.id == bot_id)
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Point to /help: the command is not one of ours (or is not for this person)."""
    message = update.effective_message
    if message is None or not _addressed(message, context.bot.id, context.bot.username):
        return
    await send_html(update, context, [texts.UNKNOWN_COMMAND])
