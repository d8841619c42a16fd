"""The sending layer's retry rules, with a scripted Bot API call, a fake clock and no waiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sender import Delivery, Lane, RetryPolicy, Sender, SendFailed


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def timed_out(cause: Exception) -> TimedOut:
    try:
        raise TimedOut() from cause
    except TimedOut as exc:
        return exc


def network(cause: Exception | None = None, message: str = "Bad Gateway") -> NetworkError:
    try:
        raise NetworkError(message) from cause
    except NetworkError as exc:
        return exc


def scripted(*outcomes: Exception | str) -> tuple[Callable[[Bot], Awaitable[str]], list[int]]:
    """A call that raises or returns the outcomes in turn; counts its calls."""
    calls = [0]

    async def make(_bot: Bot) -> str:
        outcome = outcomes[min(calls[0], len(outcomes) - 1)]
        calls[0] += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return make, calls


def sender(clock: Clock, **kwargs: Any) -> Sender:
    return Sender(
        object(),  # type: ignore[arg-type]  # the scripted call never touches the bot
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        jitter=lambda: 1.0,
        **kwargs,
    )


@pytest.mark.parametrize(
    "error",
    [
        network(message="Bad Gateway"),  # a 5xx answer
        network(httpx.ConnectError("refused")),
        timed_out(httpx.PoolTimeout("pool")),
        timed_out(httpx.ConnectTimeout("connect")),
    ],
    ids=["5xx", "connect-error", "pool-timeout", "connect-timeout"],
)
async def test_retries_what_never_reached_telegram(error: Exception) -> None:
    clock = Clock()
    make, calls = scripted(error, error, "ok")
    outcome = await sender(clock).call(1, make, lane=Lane.BULK)
    assert outcome.delivery is Delivery.SENT and outcome.value == "ok"
    assert calls[0] == 3
    assert clock.slept == [0.5, 1.0]  # exponential backoff


async def test_429_waits_its_retry_after() -> None:
    clock = Clock()
    make, calls = scripted(RetryAfter(timedelta(seconds=7)), "ok")
    outcome = await sender(clock).call(1, make)
    assert outcome.ok and calls[0] == 2 and clock.slept == [7.0]


@pytest.mark.parametrize(
    "error",
    [
        Forbidden("Forbidden: bot was blocked by the user"),
        BadRequest("Bad Request: chat not found"),
    ],
)
async def test_blocked_chats_are_never_retried_and_reported(error: Exception) -> None:
    clock = Clock()
    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    make, calls = scripted(error, "ok")
    outcome = await sender(clock, on_blocked=on_blocked).call(42, make, lane=Lane.BULK)
    assert outcome.delivery is Delivery.BLOCKED and calls[0] == 1 and blocked == [42]


async def test_a_refused_request_is_not_retried() -> None:
    clock = Clock()
    make, calls = scripted(BadRequest("Bad Request: can't parse entities"), "ok")
    outcome = await sender(clock).call(1, make)
    assert outcome.delivery is Delivery.NOT_SENT and calls[0] == 1
    assert not SendFailed(outcome).transient


async def test_a_lost_answer_is_unknown_for_bulk_and_never_resent() -> None:
    clock = Clock()
    make, calls = scripted(timed_out(httpx.ReadTimeout("read")), "ok")
    outcome = await sender(clock).call(1, make, lane=Lane.BULK)
    assert outcome.delivery is Delivery.UNKNOWN and calls[0] == 1
    assert SendFailed(outcome).transient


async def test_a_lost_answer_is_sent_again_once_for_interactive_replies() -> None:
    clock = Clock()
    lost = network(httpx.RemoteProtocolError("peer closed"))
    make, calls = scripted(lost, "ok")
    assert (await sender(clock).call(1, make)).ok and calls[0] == 2
    make, calls = scripted(lost, lost, "ok")
    assert (await sender(clock).call(1, make)).delivery is Delivery.UNKNOWN and calls[0] == 2


async def test_gives_up_within_its_budget_and_urgent_sends_try_longest() -> None:
    policy = RetryPolicy(budget=10.0, urgent_budget=100.0, max_attempts=50, urgent_max_attempts=50)
    error = network()
    clock = Clock()
    make, ordinary_calls = scripted(error)
    outcome = await sender(clock, policy=policy).call(1, make)
    assert outcome.delivery is Delivery.NOT_SENT and clock.now <= 10.0
    urgent_clock = Clock()
    make, urgent_calls = scripted(error)
    await sender(urgent_clock, policy=policy).call(1, make, urgent=True)
    assert 10.0 < urgent_clock.now <= 100.0
    assert urgent_calls[0] > ordinary_calls[0]


async def test_lanes_use_their_own_bots() -> None:
    interactive, bulk = object(), object()
    seen: list[object] = []

    async def make(bot: Bot) -> str:
        seen.append(bot)
        return "ok"

    s = Sender(interactive, bulk_bot=bulk)  # type: ignore[arg-type]
    await s.call(1, make, lane=Lane.INTERACTIVE)
    await s.call(1, make, lane=Lane.BULK)
    assert seen == [interactive, bulk]
