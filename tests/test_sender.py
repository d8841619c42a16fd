"""The sending layer's retry rules, with a scripted Bot API call, a fake clock and no waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sender import Delivery, Lane, Pace, RetryPolicy, Sender, SendFailed


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


# -- pacing ------------------------------------------------------------------------------


def paced(clock: Clock, per_second: float = 10.0, per_chat: float = 1.0) -> Sender:
    return sender(clock, pace=Pace(per_second=per_second, per_chat_per_second=per_chat))


async def test_sends_are_spaced_overall_and_per_chat() -> None:
    clock = Clock()
    s = paced(clock)
    times: list[float] = []

    async def make(_bot: Bot) -> str:
        times.append(clock.now)
        return "ok"

    for chat in (1, 2, 3):
        await s.call(chat, make, lane=Lane.BULK)
    await s.call(1, make, lane=Lane.BULK)  # chat 1 again: a second after its first
    assert times == pytest.approx([0.0, 0.1, 0.2, 1.0])


class ManualClock:
    """Sleepers wait until the test moves time on with :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for wake, future in list(self._sleepers):
            if wake <= self.now + 1e-9:
                self._sleepers.remove((wake, future))
                future.set_result(None)
        for _ in range(10):
            await asyncio.sleep(0)


async def test_an_interactive_reply_jumps_waiting_bulk_sends() -> None:
    clock = ManualClock()
    s = Sender(
        object(),  # type: ignore[arg-type]
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        pace=Pace(per_second=1.0, per_chat_per_second=1.0),
    )
    order: list[tuple[str, float]] = []

    def make(name: str) -> Callable[[Bot], Awaitable[str]]:
        async def send(_bot: Bot) -> str:
            order.append((name, clock.now))
            return name

        return send

    await s.call(1, make("bulk-1"), lane=Lane.BULK)  # t=0; the next moment is t=1
    bulk = asyncio.ensure_future(s.call(2, make("bulk-2"), lane=Lane.BULK))
    await clock.advance(0)  # the bulk send now waits for t=1
    reply = asyncio.ensure_future(s.call(3, make("reply"), lane=Lane.INTERACTIVE))
    await clock.advance(0)
    await clock.advance(1.0)
    await clock.advance(1.0)
    await asyncio.gather(bulk, reply)
    assert order == [("bulk-1", 0.0), ("reply", 1.0), ("bulk-2", 2.0)]


async def test_a_429_pauses_its_chat_and_lane_not_the_other_lane() -> None:
    clock = Clock()
    s = paced(clock, per_second=100.0)
    s.pacer.retry_after(5, Lane.BULK, 3.0)
    times: list[tuple[str, float]] = []

    def make(name: str) -> Callable[[Bot], Awaitable[str]]:
        async def send(_bot: Bot) -> str:
            times.append((name, clock.now))
            return name

        return send

    await s.call(6, make("reply"), lane=Lane.INTERACTIVE)
    await s.call(7, make("bulk"), lane=Lane.BULK)
    assert times[0] == ("reply", 0.0)
    assert times[1][0] == "bulk" and times[1][1] == pytest.approx(3.0)


async def test_uncounted_calls_and_disabled_pacing_do_not_wait() -> None:
    clock = Clock()
    s = paced(clock, per_second=1.0)
    make, _ = scripted("ok")
    for _ in range(3):
        await s.call(1, make, counted=False)
    assert clock.now == 0.0
    unpaced = sender(Clock())
    for _ in range(3):
        await unpaced.call(1, make)
    assert clock.slept == []
