"""Factories for the updates a test pushes with ``server.push_update(...)``.

They return Update dicts without ``update_id`` (the server assigns it) and, unless given,
without ``message_id``/``date`` in the messages (the server assigns the next message_id of the
chat, so ids stay consistent with the bot's own messages). Entity offsets are in UTF-16 code
units like Telegram's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from .formatting import utf16_len

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_GROUP_ID",
    "DEFAULT_USER_ID",
    "bot_command_entity",
    "bot_user",
    "callback_query",
    "command",
    "group_chat",
    "group_message",
    "mention_entity",
    "private_chat",
    "private_message",
    "user",
]

BOT_USERNAME = "ldn_test_bot"
BOT_ID = 123  # the id in FakeBotApi's default token "123:ABC"
DEFAULT_USER_ID = 1001
DEFAULT_FIRST_NAME = "Alice"
DEFAULT_GROUP_ID = -1001234567890
DEFAULT_GROUP_TITLE = "LDN test group"

_query_ids = itertools.count(1)


def user(
    user_id: int = DEFAULT_USER_ID,
    first_name: str = DEFAULT_FIRST_NAME,
    *,
    username: str | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """A human User."""
    result: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        result["username"] = username
    if language_code:
        result["language_code"] = language_code
    return result


def bot_user(username: str = BOT_USERNAME, bot_id: int = BOT_ID) -> dict[str, Any]:
    """The bot as a User (as it appears in ``from`` of its messages)."""
    return {"id": bot_id, "is_bot": True, "first_name": "LDN Test Bot", "username": username}


def private_chat(
    chat_id: int = DEFAULT_USER_ID,
    first_name: str = DEFAULT_FIRST_NAME,
    *,
    username: str | None = None,
) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
    if username:
        chat["username"] = username
    return chat


def group_chat(chat_id: int = DEFAULT_GROUP_ID, title: str = DEFAULT_GROUP_TITLE) -> dict[str, Any]:
    """A supergroup for ids of the form -100..., otherwise a basic group."""
    kind = "supergroup" if chat_id <= -1000000000000 else "group"
    return {"id": chat_id, "type": kind, "title": title}


def mention_entity(text: str, username: str = BOT_USERNAME) -> dict[str, Any]:
    """The ``mention`` entity of ``@username`` inside ``text`` (ValueError if absent)."""
    handle = f"@{username}"
    index = text.lower().find(handle.lower())
    if index < 0:
        raise ValueError(f"{handle!r} does not occur in {text!r}")
    return {"type": "mention", "offset": utf16_len(text[:index]), "length": utf16_len(handle)}


def bot_command_entity(text: str) -> dict[str, Any]:
    """The ``bot_command`` entity for the command that starts ``text`` (e.g. ``/start@bot``)."""
    if not text.startswith("/"):
        raise ValueError(f"a command starts with '/', got {text!r}")
    token = text.split(maxsplit=1)[0] if text.strip() else text
    return {"type": "bot_command", "offset": 0, "length": utf16_len(token)}


def _message(
    text: str,
    sender: dict[str, Any],
    chat: dict[str, Any],
    entities: Sequence[dict[str, Any]] | None,
    message_id: int | None,
    reply_to: dict[str, Any] | None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"from": sender, "chat": chat, "text": text}
    if message_id is not None:
        message["message_id"] = message_id
    if entities:
        message["entities"] = [dict(entity) for entity in entities]
    if reply_to is not None:
        message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
    return message


def private_message(
    text: str,
    user_id: int = DEFAULT_USER_ID,
    chat_id: int | None = None,
    first_name: str = DEFAULT_FIRST_NAME,
    *,
    username: str | None = None,
    language_code: str | None = "en",
    entities: Sequence[dict[str, Any]] | None = None,
    message_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An Update with a text message from a user in their private chat with the bot."""
    sender = user(user_id, first_name, username=username, language_code=language_code)
    chat = private_chat(user_id if chat_id is None else chat_id, first_name, username=username)
    return {"message": _message(text, sender, chat, entities, message_id, reply_to)}


def group_message(
    text: str,
    chat_id: int = DEFAULT_GROUP_ID,
    user_id: int = DEFAULT_USER_ID,
    reply_to_bot: bool = False,
    entities: Sequence[dict[str, Any]] | None = None,
    *,
    first_name: str = DEFAULT_FIRST_NAME,
    title: str = DEFAULT_GROUP_TITLE,
    username: str | None = None,
    reply_to: dict[str, Any] | None = None,
    bot_username: str = BOT_USERNAME,
    bot_id: int = BOT_ID,
    message_id: int | None = None,
) -> dict[str, Any]:
    """An Update with a text message in a group. ``reply_to`` is the message replied to (e.g.
    ``server.last_message(chat_id)``); ``reply_to_bot=True`` without it replies to a stand-in
    message of the bot. Use ``entities=[mention_entity(text)]`` for "@ldn_test_bot ..."."""
    chat = group_chat(chat_id, title)
    sender = user(user_id, first_name, username=username)
    if reply_to is None and reply_to_bot:
        reply_to = {"from": bot_user(bot_username, bot_id), "chat": chat, "text": "(bot message)"}
    return {"message": _message(text, sender, chat, entities, message_id, reply_to)}


def command(
    text: str,
    user_id: int = DEFAULT_USER_ID,
    chat_id: int | None = None,
    first_name: str = DEFAULT_FIRST_NAME,
    *,
    username: str | None = None,
    message_id: int | None = None,
) -> dict[str, Any]:
    """An Update with a command such as ``"/start"`` or ``"/dose@ldn_test_bot 4.5"``, with its
    ``bot_command`` entity. A private chat unless ``chat_id`` is negative (a group)."""
    entities = [bot_command_entity(text)]
    if chat_id is not None and chat_id < 0:
        return group_message(
            text,
            chat_id,
            user_id,
            first_name=first_name,
            entities=entities,
            username=username,
            message_id=message_id,
        )
    return private_message(
        text,
        user_id,
        chat_id,
        first_name,
        username=username,
        entities=entities,
        message_id=message_id,
    )


def callback_query(
    data: str,
    message: dict[str, Any],
    user_id: int = DEFAULT_USER_ID,
    first_name: str = DEFAULT_FIRST_NAME,
    *,
    query_id: str | None = None,
    username: str | None = None,
) -> dict[str, Any]:
    """An Update for a press on an inline button with ``callback_data == data`` under
    ``message`` (the bot's Message dict the keyboard was on, e.g. ``call.result`` of the
    sendMessage or ``server.last_message(chat_id)``)."""
    chat_id = message.get("chat", {}).get("id", user_id)
    return {
        "callback_query": {
            "id": query_id or f"cbq-{next(_query_ids)}",
            "from": user(user_id, first_name, username=username),
            "message": dict(message),
            "chat_instance": f"instance{chat_id}".replace("-", "m"),
            "data": data,
        }
    }
