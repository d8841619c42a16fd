"""Fault plans for :attr:`FakeBotApi.fault`: answer some calls with errors, as Telegram does
under load or in an outage."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from .server import ApiError

Fault = Callable[[str, dict[str, Any]], ApiError | None]


def every_nth(
    n: int,
    methods: Collection[str] = ("sendMessage",),
    error_code: int = 502,
    description: str = "Bad Gateway",
) -> Fault:
    """Fail the n-th, 2n-th, ... call of ``methods`` (counted together) with ``error_code``."""
    count = 0

    def fault(method: str, _params: dict[str, Any]) -> ApiError | None:
        nonlocal count
        if method not in methods:
            return None
        count += 1
        return ApiError(error_code, description) if count % n == 0 else None

    return fault


COUNTED = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"})


@dataclass
class RateLimits:
    """Telegram's flood limits: more than ``per_second`` counted calls in any one second, or
    more than ``per_chat_per_second`` in one chat, get a 429 whose whole-second retry_after
    says when the window frees. Refused calls are counted in ``refused`` (with the time)."""

    per_second: int = 30
    per_chat_per_second: float = 1.0
    methods: frozenset[str] = COUNTED
    refused: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)
    _last_in_chat: dict[Any, float] = field(default_factory=dict)

    def check(self, method: str, params: dict[str, Any], now: float) -> ApiError | None:
        if method not in self.methods:
            return None
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        chat = params.get("chat_id")
        wait = 0.0
        if len(self._window) >= self.per_second:
            wait = self._window[0] + 1.0 - now
        last = self._last_in_chat.get(chat)
        # A little slack: a sender spacing messages exactly at the limit must not be refused
        # for a millisecond of timer jitter.
        gap = 1.0 / self.per_chat_per_second
        if last is not None and now - last < gap * 0.95:
            wait = max(wait, last + gap - now)
        if wait > 0:
            self.refused.append(now)
            retry_after = max(1, math.ceil(wait))
            return ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        self._window.append(now)
        self._last_in_chat[chat] = now
        self.accepted.append(now)
        return None
