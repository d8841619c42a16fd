"""HTML rendering of the engine's replies for Telegram, within Telegram's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape as _escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, texts
from bot.texts import escape
from knowledge import Category, Entry, Reply, Source, Status

MAX_TEXT = 4096  # characters per message
_OPENING_TAG = re.compile(r"<(?!/)")
MAX_BUTTON_TEXT = 60  # longer button labels are cut with an ellipsis


def attr(value: str) -> str:
    """Escape an HTML attribute value."""
    return _escape(value, quote=True)


def source_html(source: Source) -> str:
    """One source in compact form: the slide, or the study with a link where it has one."""
    if source.kind == "slide" and source.slide:
        return f"slide “{escape(source.slide)}”"
    label = escape(source.label)
    link = source.link
    return f'<a href="{attr(link)}">{label}</a>' if link else label


def sources_block(sources: Sequence[Source]) -> str:
    if not sources:
        return ""
    return "<i>Sources:</i> " + "; ".join(source_html(s) for s in sources)


def reference_html(source: Source) -> str:
    """A checked record in full, for the /sources list."""
    details = ", ".join(
        escape(str(part))
        for part in (source.authors, source.year, source.journal, source.volume_pages)
        if part
    )
    parts = [f"• {details}."]
    if source.title:
        parts.append(f"<i>{escape(source.title)}</i>")
    if source.link:
        parts.append(f'<a href="{attr(source.link)}">link</a>')
    return " ".join(parts)


def category_html(category: Category) -> str:
    return f"<b>{escape(category.title)}</b>\n\nChoose a question:"


def reply_html(reply: Reply) -> list[str]:
    """The reply as one or more HTML messages (answer first, sources under it)."""
    head = ""
    if reply.status is Status.SAFETY:
        head = "⚠️ <b>Please read this now</b>\n\n"
    elif reply.status is Status.ANSWER and reply.topic:
        head = f"<b>{escape(reply.topic)}</b>\n\n"
    blocks = [head + escape(reply.answer)]
    if reply.sources:
        blocks.append(sources_block(reply.sources))
    return pack(blocks)


def pack(blocks: Iterable[str], limit: int = MAX_TEXT) -> list[str]:
    """Join HTML blocks with blank lines into as few messages as fit `limit` each.

    A block longer than the limit is cut at a line, sentence or word boundary, never inside an
    entity, a tag or a tagged span."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _split(block, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _split(text: str, limit: int) -> list[str]:
    pieces = []
    while len(text) > limit:
        cut = limit  # no separator in the second half of the limit: a hard cut
        for sep in ("\n", ". ", " "):
            found = text.rfind(sep, 0, limit)
            if found > limit // 2:
                cut = found + len(sep)
                break
        # Never cut inside an entity such as &amp;, inside a tag, or between a tag and its
        # closing tag (our markup does not nest, so the last unclosed opening tag is enough).
        amp, lt = text.rfind("&", 0, cut), text.rfind("<", 0, cut)
        if amp > text.rfind(";", 0, cut):
            cut = amp
        if lt > text.rfind(">", 0, cut):
            cut = lt
        last_open = max((m.start() for m in _OPENING_TAG.finditer(text, 0, cut)), default=-1)
        if last_open > 0 and text.rfind("</", 0, cut) < last_open:
            cut = last_open
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return [p for p in pieces if p]


def _label(text: str) -> str:
    return text if len(text) <= MAX_BUTTON_TEXT else text[: MAX_BUTTON_TEXT - 1] + "…"


def clarify_keyboard(reply: Reply) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(_label(s.question), callback_data=callbacks.answer_here(s.entry_id))]
        for s in reply.suggestions
    ]
    rows.append([InlineKeyboardButton("None of these", callback_data=callbacks.topics())])
    return InlineKeyboardMarkup(rows)


def browse_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Browse topics", callback_data=callbacks.topics())]]
    )


def examples_keyboard(entries: Sequence[Entry]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_label(e.questions[0]), callback_data=callbacks.answer_new(e.id))]
            for e in entries
        ]
    )


def categories_keyboard(categories: Sequence[Category]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_label(c.title), callback_data=callbacks.topics(c.id))]
            for c in categories
        ]
    )


def entries_keyboard(entries: Sequence[Entry]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(_label(e.topic), callback_data=callbacks.answer_here(e.id))]
        for e in entries
    ]
    rows.append([InlineKeyboardButton("« All topics", callback_data=callbacks.topics())])
    return InlineKeyboardMarkup(rows)


def back_keyboard(category_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("« Back", callback_data=callbacks.topics(category_id))]]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete my data", callback_data=callbacks.forget(True)),
                InlineKeyboardButton("No, keep it", callback_data=callbacks.forget(False)),
            ]
        ]
    )


def checkin_keyboard(event_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.CHECKIN_HELP_BUTTON,
                    callback_data=callbacks.checkin(event_id, callbacks.CHECKIN_HELP),
                ),
                InlineKeyboardButton(
                    texts.CHECKIN_OK_BUTTON,
                    callback_data=callbacks.checkin(event_id, callbacks.CHECKIN_OK),
                ),
            ]
        ]
    )
