"""Helpers for the staff end-to-end tests: a config with staff, and driving commands and
buttons through the fake Bot API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Config, from_dict
from tests.botharness import CLINIC, TOKEN, RunningBot
from tests.fakebotapi import FakeBotApi, factories

ADMIN = 9001
NURSE = 9002


def staff_config(
    server: FakeBotApi,
    db_url: str,
    *,
    admins: tuple[int, ...] = (ADMIN,),
    staff: tuple[int, ...] = (NURSE,),
    **sections: dict[str, Any],
) -> Config:
    return from_dict(
        {
            "clinic": {**CLINIC, "timezone": "Europe/London"},
            "telegram": {
                "token": TOKEN,
                "base_url": server.base_url,
                "base_file_url": server.base_file_url,
                "poll_timeout": 1,
                "rate_limit": False,
            },
            "storage": {"url": db_url},
            "staff": {"admins": list(admins), "staff": list(staff)},
            **sections,
        }
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def to(chat_id: int) -> Any:
    return lambda call: call.params.get("chat_id") == chat_id


async def say(bot: RunningBot, user: int, text: str) -> dict[str, Any]:
    """Send ``text`` (a command when it starts with "/") and wait for the bot's message."""
    mark = bot.server.mark()
    if text.startswith("/"):
        bot.server.push_update(factories.command(text, user_id=user))
    else:
        bot.server.push_update(factories.private_message(text, user_id=user))
    call = await bot.server.wait_for("sendMessage", to(user), since=mark)
    return dict(call.params)


async def press(
    bot: RunningBot, user: int, data: str, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Press a button on ``message`` (default: the user's last message from the bot); returns
    the answerCallbackQuery params."""
    target = message or bot.server.last_message(user)
    assert target is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, target, user_id=user))
    call = await bot.server.wait_for("answerCallbackQuery", since=mark)
    return dict(call.params)


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def button(params: dict[str, Any], label_part: str) -> str:
    return next(data for label, data in buttons(params) if label_part in label)
