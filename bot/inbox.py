"""The durable inbox, Telegram side: fetch updates, store them, then handle them from the store.

PTB's Updater keeps fetched updates in memory and acknowledges them with the next getUpdates
offset, so a crash loses every update fetched but not yet answered. Here:

* :class:`~bot.poller.Poller` asks getUpdates, stores the batch in one commit
  (``store.inbox``), and only then asks again with the next offset, which is what tells
  Telegram we have them. Telegram allows one getUpdates caller per bot, so with several
  processes on one PostgreSQL database only the holder of an advisory lock polls; another
  takes over when it dies.
* :class:`Dispatcher` (in every process) claims stored updates, each the oldest pending one of
  its chat, handles them with ``Application.process_update`` and marks them done, or failed
  after a few attempts, in batched commits. After a restart, whatever was stored and not done
  is handled first.

An update's handling is one *attempt*: the global error handler reads :func:`current_attempt`
to decide whether a failure is tried again later (transient: the network, Telegram's 5xx,
the database) or ends with the error notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from telegram import Update

from bot.context import BotApplication
from bot.poller import Poller
from store import ClaimedUpdate, Store, StoreError

log = logging.getLogger(__name__)

LEASE: Final = timedelta(seconds=60)  # a dead process's claims are taken over after this
MAX_ATTEMPTS: Final = 4
RETRY_DELAYS: Final = (timedelta(seconds=2), timedelta(seconds=10), timedelta(seconds=30))
CLAIM_BATCH: Final = 64  # updates claimed at once (each the head of its chat)
IDLE_CHECK: Final = 0.5  # seconds between looks at the store when nothing woke us
RESULTS_EVERY: Final = 0.05  # seconds: results finished within this go to the store together


@dataclass(slots=True)
class Attempt:
    """One try at handling one stored update; the error handler sets ``retry``."""

    update_id: int
    number: int  # 1 for the first try
    last: bool
    retry: bool = False
    gave_up: bool = False  # failed on the last attempt: recorded as failed


_ATTEMPT: ContextVar[Attempt | None] = ContextVar("inbox_attempt", default=None)


def current_attempt() -> Attempt | None:
    """The attempt being handled in this task, or None outside the inbox (tests, jobs)."""
    return _ATTEMPT.get()


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    """Claims stored updates and handles them, ``slots`` at a time, in order within a chat."""

    def __init__(
        self,
        application: BotApplication,
        store: Store,
        *,
        clock: Callable[[], datetime],
        slots: int,
        owner: str | None = None,
        retry_delays: tuple[timedelta, ...] = RETRY_DELAYS,
    ) -> None:
        self._app = application
        self._retry_delays = retry_delays
        self._store = store
        self._clock = clock
        self._slots = slots
        self.owner = owner or new_owner()
        self._wake = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._fresh: dict[int, Update] = {}  # parsed by the poller, saves parsing again
        self._ready: deque[ClaimedUpdate] = deque()  # claimed, waiting for a slot
        self._flushing: asyncio.Task[None] | None = None
        # Set when results are wanted in the store now (the next updates of their chats can
        # only be claimed once they are recorded): the writer stops gathering and writes.
        self._write_now = asyncio.Event()
        self._writing = 0  # results in the write under way
        self._arrived = False
        self._done: list[int] = []
        self._failed: list[int] = []
        self._retry: list[tuple[int, datetime]] = []
        self._stopping = False
        self._last_renew = 0.0

    def offer(self, updates: list[Update]) -> None:
        """Updates just stored by this process's poller: handle them soon, unparsed again."""
        for update in updates:
            self._fresh[update.update_id] = update
        self._arrived = True
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        if self._store.backend == "sqlite":
            # One process per SQLite file: any lease left is from this bot's previous run.
            await asyncio.to_thread(self._store.release_all_leases)
        last_look = -IDLE_CHECK
        while not self._stopping:
            try:
                # Claims and results go to the store in batches: one claim takes the head of
                # up to CLAIM_BATCH chats, handled from memory while the store rests.
                idle = loop.time() - last_look >= IDLE_CHECK
                short = len(self._ready) < self._slots
                if self._arrived or idle or (short and self._has_results()):
                    last_look = loop.time()
                    self._arrived = False
                    await self._flush()
                    room = CLAIM_BATCH - len(self._ready) - len(self._running)
                    if room > 0:
                        self._ready.extend(
                            await asyncio.to_thread(
                                self._store.claim_updates, self.owner, self._clock(), room, LEASE
                            )
                        )
                # Handled and not yet recorded is what a kill -9 sends twice: a new update
                # starts only while fewer than two slots' worth wait, however slow the store
                # (so at most three slots' worth, with the ones in hand, are replayed).
                while (
                    self._ready
                    and len(self._running) < self._slots
                    and self._unrecorded() < 2 * self._slots
                ):
                    self._start(self._ready.popleft())
                if loop.time() - self._last_renew > LEASE.total_seconds() / 3:
                    self._last_renew = loop.time()
                    held = [*self._running, *(row.update_id for row in self._ready)]
                    await asyncio.to_thread(
                        self._store.renew_leases, self.owner, held, self._clock(), LEASE
                    )
            except StoreError as exc:
                log.warning("inbox: the store failed (%s), trying again", type(exc).__name__)
                await asyncio.sleep(1.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=IDLE_CHECK)
        await self._drain()

    def _unrecorded(self) -> int:
        return len(self._done) + len(self._failed) + len(self._retry) + self._writing

    def _has_results(self) -> bool:
        return bool(self._done or self._failed or self._retry)

    async def _drain(self) -> None:
        """Let updates in hand finish (briefly), then record what became of them."""
        if self._running:
            _, pending = await asyncio.wait(list(self._running.values()), timeout=10)
            for task in pending:
                task.cancel()
        with contextlib.suppress(StoreError):
            await self._flush()
            await asyncio.to_thread(self._store.release_leases, self.owner)

    def _start(self, row: ClaimedUpdate) -> None:
        update = self._fresh.pop(row.update_id, None)
        if update is None:
            update = Update.de_json(json.loads(row.payload), self._app.bot)
        attempt = Attempt(row.update_id, row.attempts + 1, last=row.attempts + 1 >= MAX_ATTEMPTS)
        task = asyncio.create_task(self._handle(update, attempt))
        self._running[row.update_id] = task

    async def _handle(self, update: Update, attempt: Attempt) -> None:
        token = _ATTEMPT.set(attempt)
        try:
            await self._app.process_update(update)
        except Exception:  # process_update hands handler errors to the error handler
            log.exception("update %s: not handled", attempt.update_id)
            attempt.retry = not attempt.last
            attempt.gave_up = attempt.last
        finally:
            _ATTEMPT.reset(token)
            self._running.pop(attempt.update_id, None)
        if attempt.retry:
            delays = self._retry_delays
            delay = delays[min(attempt.number, len(delays)) - 1]
            self._retry.append((attempt.update_id, self._clock() + delay))
        elif attempt.gave_up:
            self._failed.append(attempt.update_id)
        else:
            self._done.append(attempt.update_id)
        if len(self._done) + len(self._failed) + len(self._retry) >= 2 * self._slots:
            # Few replies sent and not yet recorded, at any rate of replies: after a kill -9
            # only those (and the ones in hand) are sent twice. Two slots' worth per write:
            # a write per slot's worth cost a quarter of a reply's CPU with 3 slots, and
            # with 6 it ran at 0.74x and 0.78x the echo bot against 0.90x and 0.81x
            # (bench/bench_outside.py, interleaved).
            self._write_now.set()
        self._schedule_flush()
        self._wake.set()

    def _schedule_flush(self) -> None:
        """Record results soon, in the background: one write at a time, each taking whatever
        finished meanwhile, so that a kill -9 replays only what was in flight."""
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_quietly())

    async def _flush_quietly(self) -> None:
        try:
            while self._has_results():
                # Gather what finishes in the next moment into the same write: a write per
                # reply cost as much CPU as the reply; a kill -9 replays at most this moment.
                # Unless two slots' worth have gathered, or the dispatcher is waiting for them:
                # each chat's next update is claimed only once its previous one is recorded,
                # so with every patient's next question queued, gathering stalled every slot
                # for the whole moment (a 50 ms gap in replies per round of claims).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._write_now.wait(), timeout=RESULTS_EVERY)
                self._write_now.clear()
                await self._flush()
        except StoreError as exc:
            log.warning("inbox: could not record results (%s)", type(exc).__name__)

    async def _flush(self) -> None:
        flushing = self._flushing
        if flushing is not None and flushing is not asyncio.current_task():
            self._write_now.set()
            await asyncio.wait([flushing])  # one write at a time, and results in order
        if not self._has_results():
            return
        done, failed, retry = self._done, self._failed, self._retry
        self._done, self._failed, self._retry = [], [], []
        self._writing = len(done) + len(failed) + len(retry)
        try:
            await asyncio.to_thread(
                self._store.finish_updates, self.owner, done, retry, failed, self._clock()
            )
        except BaseException:
            # Kept for the next write, ahead of what finished meanwhile.
            self._done[:0], self._failed[:0], self._retry[:0] = done, failed, retry
            raise
        finally:
            self._writing = 0
            self._wake.set()


class InboxRunner:
    """Starts and stops the poller and the dispatcher around a started Application."""

    def __init__(
        self,
        application: BotApplication,
        *,
        slots: int,
        poll: bool = True,
        retry_delays: tuple[timedelta, ...] = RETRY_DELAYS,
    ) -> None:
        services = application.bot_data.services
        assert services is not None
        store = services.require_store()
        self.dispatcher = Dispatcher(
            application, store, clock=services.clock, slots=slots, retry_delays=retry_delays
        )
        self.poller = (
            Poller(
                application,
                store,
                self.dispatcher,
                clock=services.clock,
                timeout=services.config.telegram.poll_timeout,
                connect_timeout=services.config.telegram.connect_timeout,
            )
            if poll
            else None
        )
        self._dispatching: asyncio.Task[None] | None = None
        self._polling: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._dispatching = asyncio.create_task(self.dispatcher.run(), name="inbox-dispatcher")
        self._tasks.append(self._dispatching)
        if self.poller is not None:
            self._polling = asyncio.create_task(self.poller.run(), name="inbox-poller")
            self._tasks.append(self._polling)

    async def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        self.dispatcher.stop()
        if self._polling is not None:
            self._polling.cancel()  # a long poll in flight: its updates are not acknowledged
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    async def wait(self) -> None:
        """Until a task ends by itself (e.g. the token was revoked): re-raises its error."""
        done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
