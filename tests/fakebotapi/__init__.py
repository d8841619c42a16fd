"""A fake Telegram Bot API server for end-to-end tests, checked against Telegram's own spec.

Usage::

    from telegram.ext import ApplicationBuilder
    from tests.fakebotapi import FakeBotApi, factories

    async def test_start() -> None:
        async with FakeBotApi(token="123:ABC") as server:
            app = (
                ApplicationBuilder()
                .token(server.token)
                .base_url(server.base_url)            # http://127.0.0.1:PORT/bot
                .base_file_url(server.base_file_url)
                .build()
            )
            ...  # add handlers
            async with app:
                await app.start()
                await app.updater.start_polling(poll_interval=0, timeout=1)
                server.push_update(factories.command("/start"))
                call = await server.wait_for("sendMessage")   # event-based, no sleeps
                assert "Hello" in call.params["text"]
                await app.updater.stop()
                await app.stop()
            server.assert_no_violations()

Every request is decoded (form, multipart, JSON or query string; JSON-encoded objects in form
fields are decoded per the spec types) and checked against the machine-readable Bot API spec
read at runtime from ``<project>/../shared/telegram/bot-api-10.1.min.json`` (or
``$LDN_SHARED_DIR/telegram/...``): the method exists, required fields present, no unknown field,
types match recursively, limits from the descriptions hold (text 1-4096 characters after
parsing HTML/MarkdownV2/Markdown, callback_data 1-64 bytes, BotCommand names, one action per
inline button, ...). A violation is appended to ``server.violations`` and answered like Telegram
(400 with its description; 404 for an unknown method; 401 for a wrong token). If the spec file
is absent validation is skipped and ``server.skip_reason`` says why.

Main API (see :class:`FakeBotApi`): ``push_update``, ``wait_for``/``wait_for_all``,
``calls``/``calls_to``/``mark``, ``last_message``/``bot_messages``, ``fail_next``,
``assert_no_violations``, ``violations``, ``errors`` (state errors such as "message is not
modified"), ``skip_reason``. Update builders live in :mod:`tests.fakebotapi.factories`.
"""

from . import factories
from .formatting import EntityParseError, parse_entities, parse_html, parse_markdown_v2, utf16_len
from .server import ApiError, Call, FakeBotApi
from .spec import BotApiSpec, Problem, UploadedFile, default_spec_path, load_spec

__all__ = [
    "ApiError",
    "BotApiSpec",
    "Call",
    "EntityParseError",
    "FakeBotApi",
    "Problem",
    "UploadedFile",
    "default_spec_path",
    "factories",
    "load_spec",
    "parse_entities",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]
