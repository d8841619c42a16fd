"""Services shared by all handlers, reached through a typed context (not loose bot_data keys)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from telegram import Bot
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.config import Config
from bot.recorder import UnansweredRecorder
from bot.sender import Sender
from knowledge import Engine
from reminders import PlanBook
from store import ProcessLock, Store

T = TypeVar("T")
P = ParamSpec("P")


def utc_now() -> datetime:
    return datetime.now(UTC)


SEEN_REFRESH = timedelta(minutes=15)  # how stale a chat's last_seen may get before a write
SEEN_CACHE = 50_000  # chats remembered in memory for that purpose


@dataclass
class Services:
    """Built once per Application; the store is opened in post_init, closed in post_shutdown."""

    config: Config
    engine: Engine
    clock: Callable[[], datetime] = utc_now
    # How the sender waits between attempts (tests make it instant).
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
    store: Store | None = None
    recorder: UnansweredRecorder | None = None
    sender: Sender | None = None
    bulk_bot: Bot | None = None
    plans: PlanBook | None = None
    reminders_recovered: bool = False  # the first reminder tick after start has swept
    broadcasts_recovered: bool = False  # the same for the broadcast outbox
    reload_seen: int | None = None  # the newest reload request this process has looked at
    # Invited staff ids and when they were read (time.monotonic): see bot.staff.may_be_staff.
    staff_cache: tuple[float, frozenset[int]] | None = None
    _seen: OrderedDict[int, datetime] = field(default_factory=OrderedDict)
    _bulk_lock: ProcessLock | None = None

    def needs_seen_write(self, chat_id: int, now: datetime) -> bool:
        """Whether this chat's last_seen is worth a database write now: at most one write per
        chat per SEEN_REFRESH, so a patient's run of questions costs one write, not ten."""
        last = self._seen.get(chat_id)
        if last is not None and now - last < SEEN_REFRESH:
            return False
        self._seen[chat_id] = now
        self._seen.move_to_end(chat_id)
        if len(self._seen) > SEEN_CACHE:
            self._seen.popitem(last=False)
        return True

    async def may_send_bulk(self) -> bool:
        """Whether this process sends bulk messages now (one process at a time shares
        Telegram's limit; another takes over when it dies). Jobs that send reminders or
        broadcasts check this on every tick."""
        if self._bulk_lock is None:
            self._bulk_lock = self.require_store().bulk_lock()
        return await asyncio.to_thread(self._bulk_lock.acquire)

    def release_locks(self) -> None:
        if self._bulk_lock is not None:
            self._bulk_lock.release()
            self._bulk_lock = None

    def forget_seen(self, chat_id: int) -> None:
        """The chat's next update records it again (e.g. it was unreachable)."""
        self._seen.pop(chat_id, None)

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking store call in a worker thread so the event loop keeps serving."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def require_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the store is not open (post_init has not run)")
        return self.store

    def require_sender(self) -> Sender:
        if self.sender is None:
            raise RuntimeError("the sender is not set up (post_init has not run)")
        return self.sender

    def require_plans(self) -> PlanBook:
        if self.plans is None:
            raise RuntimeError("the titration plans are not loaded")
        return self.plans

    def require_recorder(self) -> UnansweredRecorder:
        if self.recorder is None:
            self.recorder = UnansweredRecorder(self.require_store(), self.engine.normalise)
        return self.recorder


class BotData:
    """The application's bot_data: just the services."""

    def __init__(self) -> None:
        self.services: Services | None = None


class BotContext(
    CallbackContext[ExtBot[None], dict[object, object], dict[object, object], BotData]
):
    """Handlers' context: `context.services` instead of dictionary look-ups."""

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are not installed on this application")
        return services


BotApplication = Application[
    ExtBot[None],
    BotContext,
    dict[object, object],
    dict[object, object],
    BotData,
    JobQueue[BotContext],
]
