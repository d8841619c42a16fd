"""The one global error handler: log the error and the update's id, never its text.

Inside the inbox (bot/inbox.py) each handling of an update is an attempt: a transient failure
(the network, Telegram's 5xx, the database) is logged as one WARNING line and the update is
tried again later; only the last attempt, or an unexpected error, ends with the error notice
and a stack in the log.
"""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, NetworkError, TelegramError

from bot import texts
from bot.context import BotContext
from bot.inbox import current_attempt
from bot.sender import SendFailed
from store import StoreError

log = logging.getLogger(__name__)


def is_transient(error: BaseException | None) -> bool:
    if isinstance(error, SendFailed):
        return error.transient
    return isinstance(error, NetworkError | StoreError)  # TimedOut is a NetworkError


async def error_handler(update: object, context: BotContext) -> None:
    """Log unexpected errors without patient text, and tell the patient something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if isinstance(error, Forbidden):
        # The patient blocked the bot or left the group: nothing to tell them.
        log.info("update %s: chat unreachable (%s)", update_id, type(error).__name__)
        return
    attempt = current_attempt()
    if attempt is not None and is_transient(error):
        if not attempt.last:
            attempt.retry = True
            log.warning(
                "update %s: attempt %d failed (%s), will try again",
                update_id,
                attempt.number,
                type(error).__name__,
            )
            return
        attempt.gave_up = True
        log.error("update %s: gave up after %d attempts", update_id, attempt.number)
    else:
        # The exception's type and where it was raised, never its message: messages can quote
        # the patient's text (a database error quotes the statement's parameters).
        where = traceback.format_list(traceback.extract_tb(error.__traceback__)) if error else []
        log.error(
            "update %s caused %s at\n%s", update_id, type(error).__name__, "".join(where).rstrip()
        )
    if isinstance(error, SendFailed) and error.urgent:
        # A safety answer is never replaced by "try again": it was retried longest already.
        return
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, texts.ERROR, parse_mode=ParseMode.HTML
            )
        except TelegramError:
            log.warning("update %s: could not send the error notice", update_id)
