"""Results of bulk sends written behind them, many per transaction (reminders, broadcasts).

The first result starts a write at once and results that arrive meanwhile go in the next one,
so a row stays ``sending`` (and would become ``unknown`` at a crash, never sent twice) only
while its write is under way, and a burst of sends costs a few transactions, not one each.
:meth:`BatchWriter.room` holds the next send back while too many results wait, so what a
crash leaves unknown stays bounded however slowly the store writes.
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
        self._writing = 0  # results in the write under way
        self._written = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def unrecorded(self) -> int:
        """Results added and not yet written."""
        return len(self._pending) + self._writing

    def add(self, item: T) -> None:
        self._pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            self._writing = len(batch)
            try:
                await self._write(batch)
            finally:
                self._writing = 0
                self._written.set()

    async def room(self, most: int) -> None:
        """Wait until fewer than ``most`` results are unrecorded (or no write is under way:
        a failed one leaves its results to :meth:`drain`, which raises)."""
        while self.unrecorded >= most and self._task is not None and not self._task.done():
            self._written.clear()
            await self._written.wait()

    async def drain(self) -> None:
        """Wait until every result added so far is written."""
        while self._task is not None and not self._task.done():
            await self._task
