"""End to end: an unknown command or a lone "/" gets a pointer to /help; "/ question" is a
question. In groups only what names this bot (or replies to it) gets an answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from tests.botharness import TOKEN, RunningBot, make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories

pytestmark = pytest.mark.e2e

USER = 1001
GROUP = -100777888999


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")) as running:
            yield running
        server.assert_no_violations()


async def reply_to(bot: RunningBot, update: dict[str, Any], chat_id: int) -> str:
    mark = bot.server.mark()
    bot.server.push_update(update)
    call = await bot.server.wait_for(
        "sendMessage", lambda c: c.params.get("chat_id") == chat_id, since=mark
    )
    text: str = call.params["text"]
    return text


def sent_to(bot: RunningBot, chat_id: int) -> list[str]:
    return [
        c.params["text"]
        for c in bot.server.calls_to("sendMessage")
        if c.params["chat_id"] == chat_id
    ]


@pytest.mark.parametrize("command", ["/foo", "/dose 4.5", "/HELPME", "/foo@ldn_test_bot"])
async def test_an_unknown_command_points_to_help(bot: RunningBot, command: str) -> None:
    text = await reply_to(bot, factories.command(command, user_id=USER), USER)
    assert text == texts.UNKNOWN_COMMAND
    assert "/help" in text


async def test_a_lone_slash_points_to_help(bot: RunningBot) -> None:
    # Telegram marks no bot_command entity on "/" alone: it comes as plain text.
    text = await reply_to(bot, factories.private_message("/", user_id=USER), USER)
    assert text == texts.UNKNOWN_COMMAND


async def test_text_after_a_lone_slash_is_a_question(bot: RunningBot) -> None:
    text = await reply_to(bot, factories.private_message("/ what is ldn", user_id=USER), USER)
    assert "low dose naltrexone" in text.lower() and "Sources:" in text


async def test_known_commands_are_not_unknown(bot: RunningBot) -> None:
    text = await reply_to(bot, factories.command("/help", user_id=USER), USER)
    assert "How to use me" in text
    assert texts.UNKNOWN_COMMAND not in sent_to(bot, USER)


async def test_in_a_group_only_a_command_naming_this_bot_gets_the_pointer(bot: RunningBot) -> None:
    server = bot.server
    for ignored in (
        factories.command("/foo", chat_id=GROUP),  # may be for another bot in the group
        factories.command("/foo@other_bot", chat_id=GROUP),
        factories.command("/start@other_bot", chat_id=GROUP),
        factories.group_message("/", chat_id=GROUP),
    ):
        server.push_update(ignored)
    # Handled in order within the chat: once this is answered, the four above were handled.
    text = await reply_to(bot, factories.command("/foo@LDN_test_bot", chat_id=GROUP), GROUP)
    assert text == texts.UNKNOWN_COMMAND
    assert sent_to(bot, GROUP) == [texts.UNKNOWN_COMMAND]

    # A lone "/" in reply to the bot is addressed to it.
    answer = factories.group_message("/", chat_id=GROUP, reply_to=server.last_message(GROUP))
    assert await reply_to(bot, answer, GROUP) == texts.UNKNOWN_COMMAND
    assert len(sent_to(bot, GROUP)) == 2
