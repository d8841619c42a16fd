"""/topics: browse the knowledge base by category, then entry."""

from __future__ import annotations

from telegram import Update

from bot import callbacks, render, texts
from bot.context import BotContext
from bot.handlers.common import edit_html, send_html


async def topics(update: Update, context: BotContext) -> None:
    """Show the topic categories."""
    categories = context.services.engine.kb.categories
    await send_html(update, context, [texts.TOPICS], render.categories_keyboard(categories))


async def topics_button(update: Update, context: BotContext) -> None:
    """Show the categories (t:) or one category's entries (t:<category>) in place."""
    query = update.callback_query
    if query is None:
        return
    decoded = callbacks.decode(query.data)
    kb = context.services.engine.kb
    if decoded is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if decoded.value == "":
        text, markup = texts.TOPICS, render.categories_keyboard(kb.categories)
    else:
        category = next((c for c in kb.categories if c.id == decoded.value), None)
        if category is None:
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        entries = [e for e in kb.entries if e.category == category.id]
        text = render.category_html(category)
        markup = render.entries_keyboard(entries)
    await query.answer()
    if not await edit_html(query, text, markup):
        await send_html(update, context, [text], markup)
