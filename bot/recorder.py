"""Unanswered questions are written behind the patient's answer, several per transaction.

No timer: the first question starts a write at once; questions that arrive while it is in
flight are collected and written together by the next one. Under load that batches writes,
when quiet it writes each question straight away. `drain()` waits for everything to be
written (tests, shutdown)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from store import Store, StoreError, UnansweredQuestionRow, UnansweredStatus

log = logging.getLogger(__name__)


class UnansweredRecorder:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[UnansweredQuestionRow] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, question: str, status: UnansweredStatus, asked_at: datetime) -> None:
        """Queue one question; returns at once."""
        self._pending.append(UnansweredQuestionRow(question, status, asked_at))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._store.record_unanswered_many, batch)
            except StoreError as exc:
                # Statistics for the clinic, not care: log (without the text) and go on.
                log.warning("could not record %d questions: %s", len(batch), type(exc).__name__)

    async def drain(self) -> None:
        """Wait until every queued question has been written (or failed)."""
        while self._writer is not None and not self._writer.done():
            await self._writer
