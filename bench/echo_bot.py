"""A bare PTB echo bot (default settings), run as its own process for bench/bench_outside.py.

python bench/echo_bot.py TOKEN BASE_URL BASE_FILE_URL [--answer-sized]

With ``--answer-sized`` it replies with a rendered knowledge-base answer (HTML, sources, a
keyboard) instead of the question's few bytes: the same bare bot, sending what the LDN bot
sends, so that the size of the reply is told apart from the bot's own work.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


def answer_sized_reply() -> tuple[str, object]:
    from bot import render
    from knowledge import Engine, load

    reply = Engine(load()).answer_entry("sleep-problems")
    assert reply is not None
    return render.reply_html(reply)[0], render.browse_keyboard()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


def main() -> None:
    token, base_url, base_file_url = sys.argv[1:4]
    handler = echo
    if "--answer-sized" in sys.argv[4:]:
        html, markup = answer_sized_reply()

        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_message is not None
            await update.effective_message.reply_html(html, reply_markup=markup)  # type: ignore[arg-type]

        handler = answer
    app = ApplicationBuilder().token(token).base_url(base_url).base_file_url(base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, handler))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
