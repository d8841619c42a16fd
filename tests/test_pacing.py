"""The pacer on a simulated clock: however late sends leave or arrive, Telegram never sees more
than the ceiling in any one second, nor two in one chat within a second; no real time passes."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable

import pytest

from bot.pacing import Lane, Pace, Pacer


class SimClock:
    """Virtual time: when every task waits, time jumps to the earliest sleeper."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, *jobs: Awaitable[object]) -> None:
        tasks = [asyncio.ensure_future(job) for job in jobs]
        while not all(task.done() for task in tasks):
            for _ in range(50):  # let every task run until it waits
                await asyncio.sleep(0)
            if self._sleepers:
                self.now = max(self.now, self._sleepers[0][0])
                while self._sleepers and self._sleepers[0][0] <= self.now:
                    heapq.heappop(self._sleepers)[2].set_result(None)
            elif not all(task.done() for task in tasks):
                raise AssertionError("deadlock: tasks wait and nobody sleeps")
        for task in tasks:
            task.result()


def most_in_any_second(arrivals: list[float]) -> int:
    times = sorted(arrivals)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


Send = Callable[[int, Lane], Awaitable[None]]


def simulated(
    clock: SimClock, pacer: Pacer, delay: Callable[[], float], round_trip: float
) -> tuple[Send, list[tuple[int, float]]]:
    """A send that arrives ``delay()`` after it is let out (it left late, or the server read it
    late) and whose answer comes ``round_trip`` after that; as many in flight per lane as the
    sender allows (its connections)."""
    arrivals: list[tuple[int, float]] = []
    connections = {Lane.INTERACTIVE: asyncio.Semaphore(3), Lane.BULK: asyncio.Semaphore(8)}

    async def send(chat: int, lane: Lane) -> None:
        async with connections[lane], pacer.turn(chat, lane):
            late = delay()
            arrivals.append((chat, clock.now + late))
            await clock.sleep(late + round_trip)

    return send, arrivals


def pacer(clock: SimClock, pace: Pace | None = None) -> Pacer:
    return Pacer(pace or Pace(), sleep=clock.sleep, monotonic=clock.monotonic)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_late_sends_never_bunch_past_the_ceiling(seed: int) -> None:
    clock = SimClock()
    p = pacer(clock)
    rng = random.Random(seed)

    def delay() -> float:  # mostly on time; one in five stalls up to 400 ms
        return rng.uniform(0.1, 0.4) if rng.random() < 0.2 else rng.uniform(0.0, 0.005)

    send, arrivals = simulated(clock, p, delay, round_trip=0.05)
    bulk = [send(10_000 + n, Lane.BULK) for n in range(600)]
    replies = [send(20_000 + n, Lane.INTERACTIVE) for n in range(40)]
    await clock.run(*bulk, *replies)
    assert len(arrivals) == 640
    assert most_in_any_second([at for _, at in arrivals]) <= 30


async def test_one_chat_gets_one_arrival_a_second_even_when_the_first_is_late() -> None:
    clock = SimClock()
    p = pacer(clock)
    delays = iter([0.6, 0.0, 0.0])
    send, arrivals = simulated(clock, p, lambda: next(delays), round_trip=0.05)
    await clock.run(send(7, Lane.INTERACTIVE), send(7, Lane.INTERACTIVE), send(7, Lane.BULK))
    times = [at for _, at in arrivals]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_the_price_is_a_round_trip_per_second_of_window() -> None:
    clock = SimClock()
    p = pacer(clock)
    send, arrivals = simulated(clock, p, lambda: 0.0, round_trip=0.05)
    await clock.run(*(send(n, Lane.BULK) for n in range(1_000)))
    rate = (len(arrivals) - 1) / (arrivals[-1][1] - arrivals[0][1])
    # 30 sends per 1.05 s once the window is full; the 29/s spacing below that.
    assert 28.0 < rate <= 29.0
    assert most_in_any_second([at for _, at in arrivals]) <= 30


async def test_a_reply_takes_the_next_moment_when_the_window_is_full() -> None:
    clock = SimClock()
    p = pacer(clock, Pace(per_second=100.0, ceiling=3))
    send, arrivals = simulated(clock, p, lambda: 0.0, round_trip=0.1)
    order: list[str] = []

    async def named(name: str, chat: int, lane: Lane, after: float = 0.0) -> None:
        await clock.sleep(after)
        await send(chat, lane)
        order.append(name)

    await clock.run(
        *(named(f"bulk-{n}", n, Lane.BULK) for n in range(6)),
        named("reply", 99, Lane.INTERACTIVE, after=0.2),  # the window is full by then
    )
    assert order.index("reply") == 3  # before bulk-3..5, which were waiting longer
    assert most_in_any_second([at for _, at in arrivals]) <= 3


async def test_a_429_pauses_its_lane_while_the_other_lane_goes_on() -> None:
    clock = SimClock()
    p = pacer(clock)
    p.retry_after(5, Lane.BULK, 3.0)
    send, arrivals = simulated(clock, p, lambda: 0.0, round_trip=0.01)
    await clock.run(send(6, Lane.BULK), send(7, Lane.INTERACTIVE))
    assert dict(arrivals) == pytest.approx({7: 0.0, 6: 3.0})
    assert p.in_any_second() == 1  # the bulk send, back within the last second
