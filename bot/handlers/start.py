"""/start, /help and /privacy."""

from __future__ import annotations

from telegram import Update

from bot import render, texts
from bot.context import BotContext
from bot.handlers.common import remember_chat, send_html
from bot.handlers.enrol import open_link, privacy_consent


async def start(update: Update, context: BotContext) -> None:
    """Welcome the patient, say what the bot can and cannot do, offer example questions."""
    await remember_chat(update, context, started=True)
    services = context.services
    examples = [e for i in texts.EXAMPLE_ENTRIES if (e := services.engine.entry(i)) is not None]
    await send_html(
        update,
        context,
        [texts.welcome(services.config.clinic)],
        render.examples_keyboard(examples),
    )
    if context.args:  # a deep link: https://t.me/<bot>?start=<enrolment code>
        await open_link(update, context, context.args[0])


async def help_command(update: Update, context: BotContext) -> None:
    """Explain how to use the bot."""
    await send_html(update, context, [texts.help_text()])


async def privacy(update: Update, context: BotContext) -> None:
    """Say what is stored and how to delete it."""
    days = context.services.config.storage.unanswered_retention_days
    await send_html(update, context, [texts.privacy(days)])
    await privacy_consent(update, context)
