"""Sending broadcasts: the JobQueue looks every few seconds, the store says what to send.

:func:`send_broadcasts` takes ``now`` so tests call it with a fixed clock; ``broadcast_tick``
is the job. Only the process holding the bulk lock sends (``Services.may_send_bulk``). Each
round: rows left ``sending`` by a dead process become ``unknown``; scheduled broadcasts that
are due are launched (their outbox written in one transaction); then rows are claimed in small
batches and sent through the sender's bulk lane, a few at a time, while their results are
written behind them. Before each claim it gives way to nightly reminders that are due (they
keep priority); replies always go first in the sender itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot, Message, MessageEntity

from bot.batchwrite import BatchWriter
from bot.context import BotContext, Services
from bot.sender import Delivery, Lane, Outcome
from store import StoreError
from store.broadcasts import BroadcastRecord
from store.outbox import OutboxItem, OutboxResult

log = logging.getLogger(__name__)

# Rows are claimed a few at a time, just before they go: a row claimed and not yet sent when
# the process dies becomes "unknown" and is never sent, so as few as possible wait claimed.
# The claim is also where due reminders get ahead (checked before each one).
PROGRESS_EVERY = 3.0  # seconds between edits of the live progress message
TICK_SECONDS = 5.0
_REFUSALS = frozenset({"BadRequest", "ChatMigrated"})


@dataclass
class BroadcastReport:
    launched: int = 0
    recovered: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)
    yielded: bool = False  # stopped to let due reminders go first

    def count(self, delivery: str) -> None:
        self.deliveries[delivery] = self.deliveries.get(delivery, 0) + 1


def entities_json(entities: tuple[MessageEntity, ...] | None) -> str | None:
    return json.dumps([e.to_dict() for e in entities]) if entities else None


def _entities(record: BroadcastRecord) -> list[MessageEntity] | None:
    if not record.entities:
        return None
    return [MessageEntity(**item) for item in json.loads(record.entities)]


def content_maker(record: BroadcastRecord, chat_id: int) -> Callable[[Bot], Awaitable[Message]]:
    """The one Bot API call that shows the broadcast in ``chat_id``: the preview uses it too,
    so staff see exactly what patients get."""
    entities = _entities(record)
    text = record.text or ""
    if record.kind == "photo":
        return lambda bot: bot.send_photo(
            chat_id, photo=record.file_id or "", caption=text or None, caption_entities=entities
        )
    if record.kind == "document":
        return lambda bot: bot.send_document(
            chat_id, document=record.file_id or "", caption=text or None,
            caption_entities=entities,
        )  # fmt: skip
    return lambda bot: bot.send_message(chat_id, text, entities=entities)


def _result(item: OutboxItem, outcome: Outcome[Message]) -> OutboxResult:
    message_id = outcome.value.message_id if outcome.value is not None else None
    retry = outcome.delivery is Delivery.NOT_SENT and outcome.reason not in _REFUSALS
    return OutboxResult(item.id, outcome.delivery.value, message_id, retry)


async def staff_ids(services: Services) -> set[int]:
    """Staff are not patients: broadcasts do not go to them."""
    stored = await services.db(services.require_store().list_staff)
    config = services.config.staff
    return {*config.admins, *config.staff, *(member.user_id for member in stored)}


def number(value: int) -> str:
    return f"{value:,}"


def progress_text(record: BroadcastRecord, counts: dict[str, int]) -> str:
    total = record.total or 0
    done = total - counts.get("pending", 0) - counts.get("sending", 0)
    return f"Broadcast #{record.id}: sending … {number(done)} / {number(total)}"


def report_text(record: BroadcastRecord, counts: dict[str, int]) -> str:
    cancelled = counts.get("not_sent", 0)
    head = "cancelled" if record.state == "cancelled" else "finished"
    lines = [
        f"<b>Broadcast #{record.id} {head}</b> ({number(record.total or 0)} recipients)",
        f"Delivered: {number(counts.get('sent', 0))}",
        f"Blocked the bot: {number(counts.get('blocked', 0))}",
        f"Failed: {number(counts.get('failed', 0))}",
        f"Unknown (answer lost, not resent): {number(counts.get('unknown', 0))}",
    ]
    if cancelled:
        lines.append(f"Not sent (cancelled): {number(cancelled)}")
    return "\n".join(lines)


class _Progress:
    """Edits each running broadcast's progress message, at most every PROGRESS_EVERY s."""

    def __init__(self, services: Services, monotonic: Callable[[], float]) -> None:
        self._services = services
        self._monotonic = monotonic
        self._last: dict[int, float] = {}
        self._shown: dict[int, str] = {}

    async def maybe(self, broadcast_id: int, *, force: bool = False) -> None:
        now = self._monotonic()
        if not force and now - self._last.get(broadcast_id, -PROGRESS_EVERY) < PROGRESS_EVERY:
            return
        self._last[broadcast_id] = now
        services = self._services
        store = services.require_store()
        record = await services.db(store.get_broadcast, broadcast_id)
        if record is None or record.progress_message_id is None:
            return
        counts = await services.db(store.outbox_counts, broadcast_id)
        message_id = record.progress_message_id
        text = progress_text(record, counts)
        if self._shown.get(broadcast_id) == text:
            return  # Telegram refuses an edit that changes nothing
        self._shown[broadcast_id] = text
        await services.require_sender().call(
            record.created_by,
            lambda bot: bot.edit_message_text(
                text, chat_id=record.created_by, message_id=message_id
            ),
            lane=Lane.BULK,
            counted=False,
            what="editMessageText",
        )


async def start_progress(services: Services, record: BroadcastRecord) -> None:
    """The message the sender watches: "sending … 0 / N", edited as it goes."""
    counts = {"pending": record.total or 0}
    outcome = await services.require_sender().send_message(
        record.created_by, progress_text(record, counts), lane=Lane.BULK
    )
    if outcome.value is not None:
        await services.db(
            services.require_store().set_progress_message, record.id, outcome.value.message_id
        )


async def launch(services: Services, broadcast_id: int, now: datetime) -> int | None:
    """Write the broadcast's outbox and start its progress message; None when it was not
    there to launch (another process launched or someone cancelled it)."""
    store = services.require_store()
    total = await services.db(store.launch_broadcast, broadcast_id, now, await staff_ids(services))
    if total is not None:
        record = await services.db(store.get_broadcast, broadcast_id)
        assert record is not None
        await start_progress(services, record)
        log.info("broadcast #%d launched to %d recipients", broadcast_id, total)
    return total


async def send_broadcasts(
    services: Services, now: datetime, *, monotonic: Callable[[], float] = time.monotonic
) -> BroadcastReport:
    """One round: recover, launch what is due, send every claimable row, report."""
    store = services.require_store()
    report = BroadcastReport()
    if not services.broadcasts_recovered and store.backend == "sqlite":
        report.recovered = await services.db(store.recover_outbox, now + timedelta(microseconds=1))
    else:
        lease = timedelta(seconds=services.config.sending.claim_lease_seconds)
        report.recovered = await services.db(store.recover_outbox, now - lease)
    services.broadcasts_recovered = True
    for broadcast_id in await services.db(store.due_broadcasts, now):
        if await launch(services, broadcast_id, now) is not None:
            report.launched += 1

    # A long round's claims carry the time they are made (a lease counts from it), never
    # earlier than the round's `now` (tests pass a fixed one).
    def current() -> datetime:
        return max(now, services.clock())

    progress = _Progress(services, monotonic)
    records: dict[int, BroadcastRecord] = {}
    gate = asyncio.Semaphore(services.config.sending.bulk_connections)
    connections = services.config.sending.bulk_connections
    batch = max(1, connections // 2)
    queue: asyncio.Queue[OutboxItem | None] = asyncio.Queue(maxsize=batch)
    writer: BatchWriter[OutboxResult] = BatchWriter(
        lambda batch: services.db(store.record_outbox, batch, current())
    )
    workers = [
        asyncio.create_task(_worker(services, queue, records, gate, writer, report))
        for _ in range(connections)
    ]
    try:
        while True:
            if await services.db(store.reminders_waiting, current()):
                report.yielded = True
                break
            claimed = await services.db(store.claim_outbox, current(), limit=batch)
            if not claimed:
                break
            for item in claimed:
                if item.broadcast_id not in records:
                    found = await services.db(store.get_broadcast, item.broadcast_id)
                    assert found is not None
                    records[item.broadcast_id] = found
                # Waits while the workers are busy: the next claim comes when they have room.
                await queue.put(item)
            for broadcast_id in {item.broadcast_id for item in claimed}:
                await progress.maybe(broadcast_id)
    finally:
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
        await writer.drain()
    report.finished = await services.db(store.finish_broadcasts, current())
    for broadcast_id in {*report.finished, *await services.db(store.unreported_broadcasts)}:
        await final_report(services, broadcast_id, progress)
    if report.deliveries or report.launched or report.recovered:
        log.info(
            "broadcasts: %d launched, %d interrupted, sends %s",
            report.launched,
            report.recovered,
            report.deliveries,
        )
    return report


async def _worker(
    services: Services,
    queue: asyncio.Queue[OutboxItem | None],
    records: dict[int, BroadcastRecord],
    gate: asyncio.Semaphore,
    writer: BatchWriter[OutboxResult],
    report: BroadcastReport,
) -> None:
    sender = services.require_sender()
    store = services.require_store()
    most = services.config.sending.bulk_connections
    while (item := await queue.get()) is not None:
        record = records[item.broadcast_id]
        # Rows attempted and not yet recorded are "unknown" after a crash: no more of them
        # than the sends in flight and as many results again, however slow the store is.
        await writer.room(most)
        try:
            async with gate:
                await services.db(store.mark_outbox_attempted, item.id, services.clock())
                outcome = await sender.call(
                    item.chat_id,
                    content_maker(record, item.chat_id),
                    lane=Lane.BULK,
                    what="broadcast",
                )
        except Exception:  # one bad send must not stop the others
            # The row stays "sending": after the lease it is counted unknown, never resent.
            log.exception("broadcast #%d: a send failed unexpectedly", item.broadcast_id)
            continue
        writer.add(_result(item, outcome))
        report.count(outcome.delivery.value)


async def final_report(services: Services, broadcast_id: int, progress: _Progress) -> None:
    """Tell the sender how it went, once (whichever process gets there first)."""
    store = services.require_store()
    if not await services.db(store.claim_report, broadcast_id):
        return
    record = await services.db(store.get_broadcast, broadcast_id)
    if record is None:
        return
    counts = await services.db(store.outbox_counts, broadcast_id)
    await progress.maybe(broadcast_id, force=True)
    await services.require_sender().send_message(
        record.created_by, report_text(record, counts), lane=Lane.BULK
    )


async def broadcast_tick(context: BotContext) -> None:
    """Job: send what broadcasts have to send, in the process that holds the bulk lock."""
    services = context.services
    if not await services.may_send_bulk():
        return
    try:
        await send_broadcasts(services, services.clock())
    except StoreError as exc:
        log.warning("broadcast round failed (%s); the next tick tries again", type(exc).__name__)
