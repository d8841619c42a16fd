"""The sender against the fake server enforcing Telegram's flood limits: paced bulk sends get
no 429, a reply overtakes them, and the fake's limits themselves answer 429 as Telegram does."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import SendingConfig
from bot.sender import Delivery, Lane
from tests.botharness import make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.fakebotapi.faults import RateLimits

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST-token-that-must-never-be-logged"


def test_the_fake_answers_429_past_the_overall_and_per_chat_rate() -> None:
    limits = RateLimits(per_second=3, per_chat_per_second=1.0)
    assert limits.check("sendMessage", {"chat_id": 1}, 0.0) is None
    assert limits.check("sendMessage", {"chat_id": 2}, 0.1) is None
    same_chat = limits.check("sendMessage", {"chat_id": 1}, 0.2)
    assert same_chat is not None and same_chat.error_code == 429
    assert same_chat.parameters["retry_after"] == 1  # whole seconds
    assert limits.check("sendMessage", {"chat_id": 3}, 0.3) is None
    overall = limits.check("sendMessage", {"chat_id": 4}, 0.4)  # a 4th within one second
    assert overall is not None and overall.error_code == 429
    assert limits.check("editMessageText", {"chat_id": 4}, 0.4) is None  # not counted
    assert limits.check("sendMessage", {"chat_id": 4}, 1.05) is None  # the window moved on


async def test_paced_bulk_sends_meet_the_limits_and_a_reply_goes_first(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        server.limits = RateLimits(per_second=20, per_chat_per_second=1.0)
        server.latency = 0.01
        config = replace(
            make_config(server, tmp_path / "bot.sqlite3", rate_limit=True),
            # Under the fake's 20 with room for a loaded machine's timer lag (the bench
            # measures the default 29 against 30).
            sending=SendingConfig(messages_per_second=15.0),
        )
        async with running_bot(server, config) as bot:
            services = bot.app.bot_data.services
            assert services is not None
            sender = services.require_sender()
            sender.pacer._sleep = asyncio.sleep  # real waits: the limit is real
            chats = list(range(40_000, 40_040))

            async def remind(chat: int) -> Delivery:
                result = await sender.send_message(chat, "Time for your LDN", lane=Lane.BULK)
                return result.delivery

            bulk = asyncio.gather(*(remind(chat) for chat in chats))
            await server.wait_for("sendMessage", lambda c: c.ok, count=5, timeout=30)
            mark = server.mark()
            server.push_update(factories.private_message("what is ldn", user_id=77))
            reply = await server.wait_for(
                "sendMessage", lambda c: c.params.get("chat_id") == 77, since=mark, timeout=30
            )
            deliveries = await bulk
        assert deliveries == [Delivery.SENT] * len(chats)
        assert reply.ok
        later_bulk = [c for c in server.calls[mark:] if c.method == "sendMessage" and c.ok]
        # The reply went out while most reminders were still waiting their turn.
        assert later_bulk.index(reply) < len(later_bulk) // 2
        assert limits_refused(server) == 0
        server.assert_no_violations()


def limits_refused(server: FakeBotApi) -> int:
    return sum(1 for c in server.calls if c.status == 429)
