"""/start, /help and /privacy."""

from __future__ import annotations

from telegram import Update

from bot import render, texts
from bot.context import BotContext
from bot.handlers.common import remember_chat, send_html


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


async def help_command(update: Update, context: BotContext) -> None:
    """Explain how to use the bot."""
    await send_html(update, context, [texts.help_text()])


async def privacy(update: Update, context: BotContext) -> None:
    """Say what is stored and how to delete it."""
    days = context.services.config.storage.unanswered_retention_days
    await send_html(update, context, [texts.privacy(days)])
