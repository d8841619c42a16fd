"""/topics: browse the knowledge base by category, then entry."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot import callbacks, render, texts
from bot.context import BotContext
from bot.handlers.common import send_html
from bot.texts import escape


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
        text = f"<b>{escape(category.title)}</b>\n\nChoose a question:"
        markup = render.entries_keyboard(entries)
    await query.answer()
    if query.message is None:
        await send_html(update, context, [text], markup)
        return
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        # Pressing the same button twice leaves the message unchanged; that is fine.
        if "not modified" not in str(exc).lower():
            raise
