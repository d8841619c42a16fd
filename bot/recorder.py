"""Unanswered questions are scrubbed, then counted in the store behind the patient's answer.

What is kept identifies nobody: :func:`knowledge.scrub.for_record` takes out names, contact
details, dates and record numbers before the words are normalised, and the store keeps only
(question, UTC day, status) and a count.

No timer: the first question starts a write at once; questions that arrive while it is in
flight are collected and written together by the next one. Under load that batches writes,
when quiet it writes each question straight away. `drain()` waits for everything to be
written (tests, shutdown)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from knowledge.scrub import for_record
from store import Store, StoreError, UnansweredQuestionRow, UnansweredStatus

log = logging.getLogger(__name__)


class UnansweredRecorder:
    def __init__(self, store: Store, normalise: Callable[[str], str]) -> None:
        """``normalise`` is the engine's (:meth:`knowledge.Engine.normalise`)."""
        self._store = store
        self._normalise = normalise
        self._pending: list[UnansweredQuestionRow] = []
        self._writer: asyncio.Task[None] | None = None

    def add(self, question: str, status: UnansweredStatus, asked_at: datetime) -> None:
        """Queue one question as the patient typed it; returns at once. Only its scrubbed,
        normalised form is kept, and only the UTC day of ``asked_at``."""
        kept = for_record(question, self._normalise)
        if not kept:
            return
        self._pending.append(UnansweredQuestionRow(kept, status, asked_at))
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
