"""Small helpers the handlers share: sending and editing rendered replies, recording chats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import BotContext
from bot.sender import Delivery, SendFailed
from store import ChatKind
from store.models import CHAT_KINDS

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_HARMLESS_EDIT_ERRORS = ("not modified", "can't be edited", "message to edit not found")


def _preview(html: str) -> LinkPreviewOptions | None:
    """No preview of a cited paper's page under an answer; text without links needs no option."""
    return NO_PREVIEW if "<a " in html else None


async def send_html(
    update: Update,
    context: BotContext,
    messages: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
    *,
    urgent: bool = False,
) -> Message | None:
    """Send messages to the update's chat through the sender's interactive lane; the keyboard
    goes on the last one. ``urgent`` (safety answers) retries longest. Raises
    :class:`~bot.sender.SendFailed` when a message could not be sent, so that the inbox tries
    the update again instead of the patient losing the answer."""
    chat = update.effective_chat
    if chat is None:
        return None
    sender = context.services.require_sender()
    sent = None
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        result = await sender.send_message(
            chat.id,
            text,
            urgent=urgent,
            reply_markup=markup if last else None,
            link_preview_options=_preview(text),
        )
        if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
            raise SendFailed(result, urgent=urgent)
        sent = result.value
    return sent


async def edit_html(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Replace the text of the message a button was on. False when that message is gone or
    too old to edit (the caller may send a new one); a double tap is not an error."""
    if not isinstance(query.message, Message):
        return False
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            link_preview_options=_preview(text),
        )
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" in reason:
            return True
        if any(harmless in reason for harmless in _HARMLESS_EDIT_ERRORS):
            return False
        raise
    return True


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
        cast(ChatKind, chat.type),
        now,
        started,
        user.language_code if user else None,
    )
