"""The sender's own way to Telegram: one Bot API call posted as a JSON body over a client of
the lane's own (:mod:`bot.wire`), its answer read as JSON.

Why not ``Bot.send_message``: measured from outside, half of the bot's CPU per reply went
into sending it: PTB's request path (``RequestData``, form-encoding an answer-sized HTML text,
a ``Message`` parsed from Telegram's whole echo) and httpx under it. A prepared dict posted as
JSON over :mod:`bot.wire` does the same call for about a tenth of that.

Errors are raised as PTB raises them (``telegram.request.BaseRequest._request_wrapper`` and
``HTTPXRequest.do_request``), causes chained alike, so the sender classifies every answer
through one code path whichever client sent it::

    (the wire's failures arrive as httpx's exceptions, whichever client it is)
    httpx.PoolTimeout, other httpx timeouts   -> TimedOut (from the httpx error)
    any other httpx.HTTPError                 -> NetworkError (from the httpx error)
    parameters.migrate_to_chat_id             -> ChatMigrated
    parameters.retry_after (a 429)            -> RetryAfter
    403 -> Forbidden; 400 -> BadRequest; 401, 404 -> InvalidToken; 409 -> Conflict;
    anything else (5xx)                       -> NetworkError

The token is in every URL: neither this module nor the wire logs a URL or a request, and
httpx's own request log (behind a proxy) is kept at WARNING (``bot.app.quiet_token_leaks``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import httpx
from telegram import Bot, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.config import Config
from bot.wire import Timeouts, Wire, open_wire


class BotApi:
    """Bot API calls over a client of the lane's own (``connections`` at most; see
    :mod:`bot.wire`). ``bot`` gives the URL (its ``base_url`` holds the token) and is the bot
    the returned ``Message`` objects belong to. Timeouts default to PTB's (5 s read and write)."""

    def __init__(
        self,
        bot: Bot,
        *,
        connections: int,
        timeouts: Timeouts | None = None,
        wire: Wire | None = None,
    ) -> None:
        self._bot = bot
        self._wire = wire or open_wire(
            bot.base_url, connections=connections, timeouts=timeouts or Timeouts()
        )

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def post(self, method: str, payload: dict[str, Any]) -> Any:
        """Call ``method`` with ``payload``; Telegram's ``result``, or PTB's error for it."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            status, content = await self._wire.post(method, body)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.PoolTimeout):
                raise TimedOut(
                    "Pool timeout: all connections of the lane are busy; the request was "
                    "not sent to Telegram."
                ) from exc
            raise TimedOut from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc
        return _result(status, content)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
        link_preview_options: LinkPreviewOptions | None = None,
        disable_notification: bool | None = None,
    ) -> Message:
        """``sendMessage``; the ``Message`` is read from Telegram's answer with what a sender
        needs (id, date, chat, the text sent), not every field it echoes back: parsing the
        whole echo (entities, keyboard, sender) cost more than the request itself."""
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode is not None:
            payload["parse_mode"] = parse_mode
        if reply_markup is not None:
            payload["reply_markup"] = reply_markup.to_dict()
        if link_preview_options is not None:
            payload["link_preview_options"] = link_preview_options.to_dict()
        if disable_notification is not None:
            payload["disable_notification"] = disable_notification
        result = await self.post("sendMessage", payload)
        chat = result["chat"]
        message = Message(
            message_id=result["message_id"],
            date=datetime.fromtimestamp(result["date"], UTC),
            chat=Chat(id=chat["id"], type=chat["type"]),
            text=result.get("text"),
        )
        message.set_bot(self._bot)
        return message


def _result(code: int, content: bytes) -> Any:
    """Telegram's answer as PTB reads it: the ``result`` of a 2xx, else the matching error."""
    parsed: dict[str, Any] | None = None
    parsing: ValueError | None = None
    try:
        loaded = json.loads(content.decode("utf-8", "replace"))
        parsed = loaded if isinstance(loaded, dict) else None
    except ValueError as exc:
        parsing = exc
    if HTTPStatus.OK <= code <= 299:
        if parsed is None or "result" not in parsed:
            raise TelegramError("Invalid server response") from parsing
        return parsed["result"]

    try:
        message = f"{HTTPStatus(code).phrase} ({code})"
    except ValueError:
        message = f"Unknown HTTPError ({code})"
    if parsed is None:
        message += ". Parsing the server response failed"
    else:
        message = parsed.get("description") or message
        parameters = parsed.get("parameters")
        if parameters:
            if migrate_to := parameters.get("migrate_to_chat_id"):
                raise ChatMigrated(migrate_to)
            if retry_after := parameters.get("retry_after"):
                raise RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"

    error: TelegramError
    if code == HTTPStatus.FORBIDDEN:
        error = Forbidden(message)
    elif code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        error = InvalidToken(message)
    elif code == HTTPStatus.BAD_REQUEST:
        error = BadRequest(message)
    elif code == HTTPStatus.CONFLICT:
        error = Conflict(message)
    else:
        error = NetworkError(message)
    if parsing is not None:
        raise error from TelegramError("Invalid server response")
    raise error


async def fetch_username(config: Config) -> str:
    """Reach the Bot API server with the token; the bot's @username (``ldn-bot run`` asks
    it before anything starts, to fail fast)."""
    bot = Bot(
        config.require_token(),
        base_url=config.telegram.base_url,
        base_file_url=config.telegram.base_file_url,
    )
    async with bot:
        return bot.username
