"""The one global error handler: log the error and the update's id, never its text."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError

from bot import texts
from bot.context import BotContext

log = logging.getLogger(__name__)


async def error_handler(update: object, context: BotContext) -> None:
    """Log unexpected errors without patient text, and tell the patient something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Forbidden):
        # The patient blocked the bot or left the group: nothing to tell them.
        log.info("update %s: chat unreachable (%s)", update_id, type(error).__name__)
        return
    # The exception's type and where it was raised, never its message: messages can quote the
    # patient's text (a database error quotes the statement's parameters).
    where = traceback.format_list(traceback.extract_tb(error.__traceback__)) if error else []
    log.error(
        "update %s caused %s at\n%s", update_id, type(error).__name__, "".join(where).rstrip()
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, texts.ERROR, parse_mode=ParseMode.HTML
            )
        except TelegramError:
            log.warning("update %s: could not send the error notice", update_id)
