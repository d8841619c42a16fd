"""The inbox's getUpdates side (see :mod:`bot.inbox`): one long poll at a time, each batch
stored in one commit before the next offset tells Telegram we have it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import httpx
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter

from bot.context import BotApplication
from bot.sender import retry_after_seconds
from store import IncomingUpdate, ProcessLock, Store, StoreError

if TYPE_CHECKING:
    from bot.inbox import Dispatcher

# One logger for the whole inbox, as before it was split in two: operators filter on it.
log = logging.getLogger("bot.inbox")

ALLOWED_UPDATES: Final = ("message", "edited_message", "callback_query")
POLL_BACKOFF: Final = (1.0, 2.0, 5.0, 10.0, 30.0)


def chat_id_of(data: dict[str, Any]) -> int | None:
    """The chat an update (as Telegram's JSON) belongs to: its order is kept per chat."""
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        message = data.get(key)
        if isinstance(message, dict):
            return _int(message.get("chat", {}).get("id"))
    query = data.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return _int(message.get("chat", {}).get("id"))
        return _int(query.get("from", {}).get("id"))
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


class Poller:
    """Long-polls getUpdates; stores each batch before asking for the next one."""

    def __init__(
        self,
        application: BotApplication,
        store: Store,
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime],
        timeout: int,
        connect_timeout: float = 10.0,
    ) -> None:
        self._app = application
        self._connect_timeout = connect_timeout
        self._store = store
        self._dispatcher = dispatcher
        self._clock = clock
        self._timeout = timeout
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def run(self) -> None:
        lock = self._store.poller_lock()
        try:
            while not self._stopping.is_set():
                if await asyncio.to_thread(lock.acquire):
                    await self._poll(lock)
                else:
                    await self._pause(5.0)  # another process polls; take over if it dies
        finally:
            await asyncio.to_thread(lock.release)

    async def _poll(self, lock: ProcessLock) -> None:
        bot = self._app.bot
        await bot.delete_webhook()
        last = await asyncio.to_thread(self._store.last_update_id)
        offset = last + 1 if last is not None else None
        failures = 0
        log.info("polling for updates")
        # getUpdates over a connection of its own, read as raw JSON: the JSON is what the
        # inbox stores, and parsing it into Updates only to serialise them again costs as
        # much as handling a question.
        url = f"{bot.base_url}/getUpdates"
        timeout = httpx.Timeout(self._timeout + 10.0, connect=self._connect_timeout)
        async with httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=1)
        ) as http:
            while not self._stopping.is_set():
                try:
                    raw = await self._get_updates(http, url, offset)
                except InvalidToken:
                    raise
                except Conflict:
                    log.warning("getUpdates: another process is polling this bot (409)")
                    await self._pause(5.0)
                    continue
                except RetryAfter as exc:
                    await self._pause(retry_after_seconds(exc))
                    continue
                except (NetworkError, httpx.HTTPError, ValueError) as exc:
                    delay = POLL_BACKOFF[min(failures, len(POLL_BACKOFF) - 1)]
                    failures += 1
                    log.warning(
                        "getUpdates failed (%s), again in %.0f s", type(exc).__name__, delay
                    )
                    await self._pause(delay)
                    continue
                failures = 0
                if not raw:
                    if not await asyncio.to_thread(lock.still_held):
                        return
                    continue
                rows = [IncomingUpdate(u["update_id"], chat_id_of(u), json.dumps(u)) for u in raw]
                try:
                    await asyncio.to_thread(self._store.store_updates, rows, self._clock())
                except StoreError as exc:
                    # Not acknowledged: Telegram gives them again once the store is back.
                    log.warning("inbox: could not store updates (%s)", type(exc).__name__)
                    await self._pause(1.0)
                    continue
                offset = raw[-1]["update_id"] + 1
                self._dispatcher.offer([Update.de_json(u, bot) for u in raw])

    async def _get_updates(
        self, http: httpx.AsyncClient, url: str, offset: int | None
    ) -> list[dict[str, Any]]:
        """One long poll; Telegram's error answers raised as PTB's errors."""
        body: dict[str, Any] = {"timeout": self._timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            body["offset"] = offset
        response = await http.post(url, json=body)
        data = response.json()
        if response.status_code == 200 and data.get("ok"):
            result = data.get("result")
            if not isinstance(result, list):
                raise ValueError("getUpdates answered without a list")
            return result
        description = str(data.get("description", response.status_code))
        retry_after = (data.get("parameters") or {}).get("retry_after")
        if response.status_code == 429 and retry_after:
            raise RetryAfter(int(retry_after))
        if response.status_code == 409:
            raise Conflict(description)
        if response.status_code in (401, 404):
            raise InvalidToken(description)
        raise NetworkError(description)
