"""Results of bulk sends written behind them, many per transaction (reminders, broadcasts).

The first result starts a write at once and results that arrive meanwhile go in the next one,
so a row stays ``sending`` (and would become ``unknown`` at a crash, never sent twice) only
while its write is under way, and a burst of sends costs a few transactions, not one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class BatchWriter(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[object]]) -> None:
        self._write = write
        self._pending: list[T] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, item: T) -> None:
        self._pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await self._write(batch)

    async def drain(self) -> None:
        """Wait until every result added so far is written."""
        while self._task is not None and not self._task.done():
            await self._task
