"""Pacing the sender's counted sends under Telegram's flood limits, however late they leave.

Telegram counts a message when it *arrives*: more than ``ceiling`` (30) in any one second, or
two in one chat within a second, get a 429. A pacer that only spaces the moments it grants
cannot keep that promise: on a loaded machine a send granted on time may leave late (the event
loop was busy) or be read late by the server, and then arrive bunched with sends granted after
it. So the pacer counts each send from the moment it is let out (it cannot arrive earlier)
until one second after its answer came back (it arrived before that answer was written):

* overall, a send may leave only while fewer than ``ceiling`` others are in flight or came
  back within the last second. For any one second of arrivals, take the send among them let
  out last: every other one had left before it and came back after that second began, so
  each was counted when it was let out. Telegram never sees more than ``ceiling``;
* in one chat, the next send may leave one ``1 / per_chat_per_second`` after the previous
  one came back;
* and sends are spaced ``1 / per_second`` apart (29 a second), so the window fills evenly
  instead of in bursts.

The price is the answer's round trip: a send holds its place for a second and a round trip
(about 28.5 a second at a 50 ms round trip). Interactive sends go first: one takes the next
free moment at once, jumping every bulk send still waiting; a bulk send takes only a moment
that is free now. A 429 pauses its chat, and the lane it came from, for as long as Telegram
asks; the other lane goes on.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum


class Lane(StrEnum):
    INTERACTIVE = "interactive"
    BULK = "bulk"


@dataclass(frozen=True, slots=True)
class Pace:
    """Telegram's limits as the sender keeps them (``[sending]`` in the config)."""

    per_second: float = 29.0  # the pace: counted sends this far apart overall
    per_chat_per_second: float = 1.0
    enabled: bool = True
    ceiling: int = 30  # Telegram's limit: never more arrive in any one second


class Pacer:
    """Lets counted sends out one at a time under :class:`Pace`; see the module's notes."""

    MAX_CHATS = 50_000

    def __init__(
        self,
        pace: Pace,
        *,
        sleep: Callable[[float], Awaitable[object]],
        monotonic: Callable[[], float],
    ) -> None:
        self.pace = pace
        self._gap = 1.0 / pace.per_second
        self._chat_gap = 1.0 / pace.per_chat_per_second
        self._sleep = sleep
        self._monotonic = monotonic
        self._last = -math.inf  # the latest moment let out (or taken by an interactive send)
        self._out = 0  # sends let out (or with a moment taken) and not back yet
        self._back: deque[float] = deque()  # when sends came back, oldest first
        self._chat_free: dict[int, float] = {}  # inf while the chat has a send out
        self._paused: dict[Lane, float] = {Lane.INTERACTIVE: 0.0, Lane.BULK: 0.0}
        self._changed = asyncio.Event()

    @asynccontextmanager
    async def turn(self, chat_id: int, lane: Lane) -> AsyncIterator[None]:
        """Wait for a moment to send to ``chat_id``; the send runs inside, and is counted
        until one second after it ends (whatever the outcome)."""
        if not self.pace.enabled:
            yield
            return
        await self._acquire(chat_id, lane)
        try:
            yield
        finally:
            self._release(chat_id)

    def retry_after(self, chat_id: int, lane: Lane, seconds: float) -> None:
        until = self._monotonic() + seconds
        self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), until)
        self._paused[lane] = max(self._paused[lane], until)

    def in_any_second(self) -> int:
        """How many sends count now (out, or back within the last second): at most ceiling."""
        self._expire(self._monotonic())
        return self._out + len(self._back)

    async def _acquire(self, chat_id: int, lane: Lane) -> None:
        while True:
            now = self._monotonic()
            # The chat's and the lane's own waits hold no moment: other chats go meanwhile.
            own = max(self._chat_free.get(chat_id, 0.0), self._paused[lane])
            if own > now:
                await self._wait(own, now)
                continue
            at = max(self._last + self._gap, self._window_free_at(now))
            if at <= now:
                # Spaced from the moment it was due, not from a late wake-up: a busy loop's
                # lateness must not push every later moment back (at most two go together).
                self._take(chat_id, max(at, now - self._gap))
                return
            if lane is Lane.INTERACTIVE and at < math.inf:
                self._take(chat_id, at)  # jumps every bulk send still waiting
                try:
                    await self._sleep(at - now)
                except BaseException:
                    self._release(chat_id)
                    raise
                return
            await self._wait(at, now)

    def _window_free_at(self, now: float) -> float:
        """The first moment when one more send keeps every second within ``ceiling``."""
        self._expire(now)
        room = self.pace.ceiling - 1 - self._out  # sends back within a second it may join
        if room < 0:
            return math.inf  # all out: wait for one to come back
        excess = len(self._back) - room
        return now if excess <= 0 else self._back[excess - 1] + 1.0

    def _expire(self, now: float) -> None:
        back = self._back
        while back and back[0] <= now - 1.0:
            back.popleft()

    def _take(self, chat_id: int, at: float) -> None:
        self._last = at
        self._out += 1
        self._chat_free[chat_id] = math.inf
        if len(self._chat_free) > self.MAX_CHATS:
            now = self._monotonic()
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}

    def _release(self, chat_id: int) -> None:
        now = self._monotonic()
        self._out -= 1
        self._back.append(now)
        self._chat_free[chat_id] = now + self._chat_gap
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait(self, until: float, now: float) -> None:
        if until < math.inf:
            await self._sleep(until - now)
        else:
            await self._changed.wait()  # until a send comes back
