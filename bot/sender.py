"""The one sending layer: every message the bot sends to Telegram goes through :class:`Sender`.

It retries what is safe to retry (connection errors, pool timeouts, 5xx, 429 after its
``retry_after``) with backoff within a bounded time, and says honestly what happened to each
send (:class:`Delivery`):

* ``sent``: Telegram answered with the message;
* ``unknown``: the request left and its answer was lost (a read timeout, a dropped
  connection). The Bot API has no idempotency key, so the message may have arrived.
  Interactive replies are then sent again (an answer seen twice beats none); bulk sends
  (reminders, broadcasts) are counted as ``unknown`` and never resent;
* ``blocked``: 403 or "chat not found": the chat is unreachable; never retried;
* ``not_sent``: every attempt failed, or Telegram refused the request (400).

Lanes: interactive replies and button answers go first; bulk sends (reminders, nudges,
check-ins, broadcasts) come after and use their own HTTP connections (``bulk_bot``), so a
burst never takes the connections replies need. ``sendMessage`` goes through each lane's
:class:`~bot.botapi.BotApi` when given (a JSON body on the lane's own client, errors raised as
PTB raises them); any other call through the lane's PTB ``Bot``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.botapi import BotApi
from bot.pacing import Lane, Pace, Pacer

__all__ = ["Delivery", "Lane", "Outcome", "Pace", "Pacer", "RetryPolicy", "SendFailed", "Sender"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Delivery(StrEnum):
    SENT = "sent"
    UNKNOWN = "unknown"
    BLOCKED = "blocked"
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What became of one call: its value when ``delivery`` is ``sent``."""

    delivery: Delivery
    value: T | None = None
    reason: str | None = None  # an exception's type name, never a message text

    @property
    def ok(self) -> bool:
        return self.delivery is Delivery.SENT


SendResult = Outcome[Message]


class SendFailed(Exception):
    """An interactive call that could not be made: the inbox will try its update again."""

    def __init__(self, outcome: Outcome[Any], *, urgent: bool = False) -> None:
        super().__init__(f"send failed: {outcome.delivery.value} ({outcome.reason})")
        self.outcome = outcome
        self.urgent = urgent

    @property
    def transient(self) -> bool:
        """Worth trying the whole update again later (not a request Telegram refused)."""
        return self.outcome.delivery is Delivery.UNKNOWN or self.outcome.reason not in _REFUSALS


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to try. ``urgent`` (safety answers) gets the longest budget."""

    base_delay: float = 0.5
    max_delay: float = 8.0
    budget: float = 30.0  # seconds of waiting before an ordinary send gives up
    urgent_budget: float = 180.0
    max_attempts: int = 8
    urgent_max_attempts: int = 30
    resend_unknown: int = 1  # interactive only: how many times an unknown answer is re-sent


_REFUSALS = frozenset({"BadRequest", "ChatMigrated"})


class _Verdict(StrEnum):
    RETRY = "retry"
    UNKNOWN = "unknown"
    BLOCKED = "blocked"
    REFUSED = "refused"


_MAYBE_DELIVERED = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
)


def classify(exc: TelegramError) -> _Verdict:
    """What an error means for a send that may be tried again."""
    if isinstance(exc, Forbidden):
        return _Verdict.BLOCKED
    if isinstance(exc, BadRequest):
        reason = exc.message.lower()
        if "chat not found" in reason or "user is deactivated" in reason:
            return _Verdict.BLOCKED
        return _Verdict.REFUSED
    if isinstance(exc, ChatMigrated):
        return _Verdict.REFUSED
    if isinstance(exc, RetryAfter):
        return _Verdict.RETRY
    if isinstance(exc, TimedOut):
        # A pool or connect timeout means the request never left; a read timeout means it did.
        return _Verdict.UNKNOWN if isinstance(exc.__cause__, _MAYBE_DELIVERED) else _Verdict.RETRY
    if isinstance(exc, NetworkError):
        # 5xx and connection errors; a connection dropped mid-answer may have delivered.
        return _Verdict.UNKNOWN if isinstance(exc.__cause__, _MAYBE_DELIVERED) else _Verdict.RETRY
    return _Verdict.REFUSED


def retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    """Sends through ``bot`` (interactive) or ``bulk_bot`` (bulk), retrying within bounds.

    ``sleep`` and ``monotonic`` are injectable so tests meet waits without real seconds.
    ``on_blocked(chat_id)`` is awaited once when a chat turns out unreachable.
    """

    def __init__(
        self,
        bot: Bot,
        *,
        bulk_bot: Bot | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        jitter: Callable[[], float] = random.random,
        pace: Pace | None = None,
        connections: tuple[int, int] = (3, 8),
        api: BotApi | None = None,
        bulk_api: BotApi | None = None,
    ) -> None:
        self.bot = bot
        self.bulk_bot = bulk_bot or bot
        self._api = {Lane.INTERACTIVE: api, Lane.BULK: bulk_api or api}
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self.on_blocked = on_blocked
        self._jitter = jitter
        self.pacer = Pacer(pace or Pace(enabled=False), sleep=sleep, monotonic=monotonic)
        # At most one call in flight per connection of the lane: a call granted its moment
        # goes out then, instead of queueing for a connection and arriving in a bunch with
        # others (which Telegram counts as a burst past its limit).
        self._in_flight = {
            Lane.INTERACTIVE: asyncio.Semaphore(connections[0]),
            Lane.BULK: asyncio.Semaphore(connections[1]),
        }

    async def aclose(self) -> None:
        """Close the lanes' own HTTP clients (the PTB bots are closed by their owners)."""
        for api in {id(a): a for a in self._api.values() if a is not None}.values():
            await api.aclose()

    def bot_for(self, lane: Lane) -> Bot:
        return self.bulk_bot if lane is Lane.BULK else self.bot

    async def call(
        self,
        chat_id: int,
        make: Callable[[Bot], Awaitable[T]],
        *,
        lane: Lane = Lane.INTERACTIVE,
        urgent: bool = False,
        what: str = "send",
        counted: bool = True,
    ) -> Outcome[T]:
        """Run ``make(bot)`` (one Bot API call to ``chat_id``) until it succeeds or the budget
        runs out. Never raises for Telegram errors; the caller reads the :class:`Outcome`.
        ``counted`` calls (sending a message) wait their turn under Telegram's limits."""
        policy = self.policy
        budget = policy.urgent_budget if urgent else policy.budget
        max_attempts = policy.urgent_max_attempts if urgent else policy.max_attempts
        resends_left = policy.resend_unknown if lane is Lane.INTERACTIVE else 0
        started = self._monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._in_flight[lane]:
                    if counted:
                        async with self.pacer.turn(chat_id, lane):
                            value = await make(self.bot_for(lane))
                    else:
                        value = await make(self.bot_for(lane))
            except TelegramError as exc:
                error = exc
                verdict = classify(error)
                reason = type(error).__name__
            else:
                return Outcome(Delivery.SENT, value)

            if verdict is _Verdict.BLOCKED:
                log.info("%s to a chat: unreachable (%s), not retried", what, reason)
                if self.on_blocked is not None:
                    await self.on_blocked(chat_id)
                return Outcome(Delivery.BLOCKED, reason=reason)
            if verdict is _Verdict.REFUSED:
                log.warning("%s refused by Telegram (%s): %s", what, reason, _safe(error))
                return Outcome(Delivery.NOT_SENT, reason=reason)
            if verdict is _Verdict.UNKNOWN:
                if resends_left <= 0:
                    log.warning("%s: answer lost after the request left (%s)", what, reason)
                    return Outcome(Delivery.UNKNOWN, reason=reason)
                resends_left -= 1

            delay = self._delay(error, attempt, chat_id, lane)
            elapsed = self._monotonic() - started
            if attempt >= max_attempts or elapsed + delay > budget:
                log.warning("%s failed after %d attempts (%s), giving up", what, attempt, reason)
                gave_up = Delivery.UNKNOWN if verdict is _Verdict.UNKNOWN else Delivery.NOT_SENT
                return Outcome(gave_up, reason=reason)
            log.warning(
                "%s attempt %d failed (%s), retrying in %.1f s", what, attempt, reason, delay
            )
            await self._sleep(delay)

    def _delay(self, exc: TelegramError, attempt: int, chat_id: int, lane: Lane) -> float:
        if isinstance(exc, RetryAfter):
            seconds = retry_after_seconds(exc)
            self.pacer.retry_after(chat_id, lane, seconds)
            return seconds
        backoff = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        return backoff * (0.5 + self._jitter() / 2)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        lane: Lane = Lane.INTERACTIVE,
        urgent: bool = False,
        reply_markup: InlineKeyboardMarkup | None = None,
        parse_mode: str | None = ParseMode.HTML,
        link_preview_options: LinkPreviewOptions | None = None,
        silent: bool = False,
    ) -> SendResult:
        """``sendMessage`` through the lane; see :meth:`call`. `silent`: no sound or
        vibration (a message that follows one that just rang)."""
        api = self._api[lane]
        return await self.call(
            chat_id,
            lambda bot: (api or bot).send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=parse_mode,
                reply_markup=reply_markup,
                link_preview_options=link_preview_options,
                disable_notification=True if silent else None,
            ),
            lane=lane,
            urgent=urgent,
            what="sendMessage",
        )


def _safe(exc: TelegramError) -> str:
    """Telegram's own error description (it names the problem, never our message text)."""
    return exc.message[:200]
