"""/sources: the reference list behind the answers."""

from __future__ import annotations

from telegram import Update

from bot import render
from bot.context import BotContext
from bot.handlers.common import send_html
from bot.texts import escape


async def sources(update: Update, context: BotContext) -> None:
    """List the slides and checked records the answers rest on, split across messages."""
    all_sources = list(context.services.engine.kb.sources.values())
    slides = [s for s in all_sources if s.kind == "slide"]
    records = [s for s in all_sources if s.kind != "slide"]
    blocks = [
        "<b>Sources</b>\n\nMy answers come from the clinic's presentation "
        "<i>Low Dose Naltrexone for Pain Management</i>, checked against published records. "
        "Where the slides cite a study that could not be verified, the answers say so.",
        "<b>Slides</b>\n" + "\n".join(f"• {escape(s.slide or s.label)}" for s in slides),
        "<b>Checked records</b>",
        *[render.reference_html(s) for s in records],
    ]
    await send_html(update, context, render.pack(blocks))
