"""A bare PTB echo bot (default settings), run as its own process for bench/bench_outside.py.

python bench/echo_bot.py TOKEN BASE_URL BASE_FILE_URL
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


def main() -> None:
    token, base_url, base_file_url = sys.argv[1:4]
    app = ApplicationBuilder().token(token).base_url(base_url).base_file_url(base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
