"""Nothing a patient sends is lost: the inbox and the sender against a failing Bot API server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot import render
from bot.inbox import MAX_ATTEMPTS
from tests.botharness import SLEPT, make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.fakebotapi.faults import every_nth
from tests.fakebotapi.server import Call

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST-token-that-must-never-be-logged"
SAFETY = [
    "i took my whole bottle of ldn tonight",
    "I'm on oxycodone after my operation, can I take LDN too?",
    "my lips are swelling and I can't breathe properly",
    "I don't want to be alive anymore",
]
ORDINARY = ["what is ldn", "when should I take it", "does it cause vivid dreams", "hello"]


def answered(chat_id: int) -> Any:
    return lambda call: call.ok and call.params.get("chat_id") == chat_id


def error_notice(call: Call) -> bool:
    return "something went wrong" in str(call.params.get("text", ""))


async def test_every_fifth_send_failing_loses_no_answer_and_no_safety_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    chats = list(range(5000, 5060))
    async with FakeBotApi(token=TOKEN) as server:
        server.fault = every_nth(5, error_code=502)
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")):
            for chat in chats:
                texts = SAFETY if chat % 5 == 0 else ORDINARY
                server.push_update(factories.private_message(texts[chat % 4], user_id=chat))
            for chat in chats:
                await server.wait_for("sendMessage", answered(chat), timeout=60)
        failed = [c for c in server.calls_to("sendMessage") if not c.ok]
        assert len(failed) >= len(chats) // 5  # the fault really hit
        assert not any(error_notice(c) for c in server.calls_to("sendMessage"))
        server.assert_no_violations()
    # One line per failed attempt, no stack.
    warnings = [r for r in caplog.records if r.name == "bot.sender"]
    assert len(warnings) >= len(failed) and not any(r.exc_info for r in warnings)


async def test_a_429_is_waited_out_even_without_the_rate_limiter(tmp_path: Path) -> None:
    async with (
        FakeBotApi(token=TOKEN) as server,
        running_bot(server, make_config(server, tmp_path / "bot.sqlite3")),
    ):
        server.fail_next("sendMessage", 429, retry_after=3)
        mark = server.mark()
        SLEPT.clear()
        server.push_update(factories.private_message("what is ldn", user_id=77))
        await server.wait_for("sendMessage", answered(77), since=mark)
        assert 3.0 in SLEPT
        refused = [c for c in server.calls[mark:] if c.status == 429]
        assert len(refused) == 1


async def test_an_update_that_keeps_failing_ends_with_one_notice(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, tmp_path / "bot.sqlite3")
        async with running_bot(server, config) as bot:
            # Every answer to chat 77 fails with a 5xx until the update is given up.
            def down(method: str, params: dict[str, Any]) -> Any:
                if method == "sendMessage" and not error_notice_params(params):
                    from tests.fakebotapi.server import ApiError

                    return ApiError(500, "Internal Server Error")
                return None

            server.fault = down
            mark = server.mark()
            server.push_update(factories.private_message("what is ldn", user_id=77))
            notice = await server.wait_for("sendMessage", answered(77), since=mark, timeout=60)
            assert error_notice(notice)
            server.fault = None
            attempts = [c for c in server.calls[mark:] if c.method == "sendMessage" and not c.ok]
            # The sender's own retries, for each of the inbox's attempts.
            assert len(attempts) >= MAX_ATTEMPTS
            # The next question is answered normally.
            server.push_update(factories.private_message("what is ldn", user_id=77))
            reply = await server.wait_for("sendMessage", answered(77), count=2, since=mark)
            assert "LDN" in reply.params["text"]
            # The chat's next update was handled only after the first was given up.
            assert bot.store.inbox_counts().failed == 1


def error_notice_params(params: dict[str, Any]) -> bool:
    return "something went wrong" in str(params.get("text", ""))


async def test_updates_are_answered_in_order_within_a_chat(tmp_path: Path) -> None:
    questions = ["what is ldn", "hello", "when should I take it", "does it cause vivid dreams"] * 3
    async with FakeBotApi(token=TOKEN) as server:
        server.latency = 0.01
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")) as bot:
            engine = bot.app.bot_data.services.engine  # type: ignore[union-attr]
            expected = [render.reply_html(engine.ask(text))[0] for text in questions]
            for chat in (88, 89):
                for text in questions:
                    server.push_update(factories.private_message(text, user_id=chat))
            for chat in (88, 89):
                replies = await server.wait_for_all(
                    "sendMessage", answered(chat), count=len(questions), timeout=60
                )
                assert [r.params["text"] for r in replies] == expected
