"""The nightly reminders' dispatch: the JobQueue decides when to look, the store what is due.

:func:`dispatch` takes ``now`` so tests call it with a fixed clock; :func:`reminder_tick` is
the job that calls it with ``services.clock()``. Each reminder is claimed in the store (and
the claim committed) before it is sent through the sender's bulk lane; what became of the send
is recorded afterwards: sent (with the message id), unknown, blocked or not sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import reminder_texts as rt
from bot.batchwrite import BatchWriter
from bot.checkin_dispatch import dispatch_checkins
from bot.context import BotContext, Services
from bot.sender import Delivery, Lane, SendResult
from store.records import EveningRecord, FollowupRecord
from store.reminders import SendRecord

log = logging.getLogger(__name__)

# A row still "sending" this long after its claim belongs to a process that died mid-send
# (the sender gives up well within it); it becomes "unknown", never sent again.
CLAIM_BATCH = 200
# Sends in flight at once: no more than the bulk lane's own HTTP connections ([sending]
# bulk_connections), since a request waiting in httpcore's pool costs CPU on every other
# request (bench/bench_reminders.py: 16 in flight over 3 connections took twice the CPU per
# reminder). The sender paces them to Telegram's limits.


@dataclass
class DispatchReport:
    created: int = 0
    missed: int = 0
    recovered: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    sent_evenings: list[EveningRecord] = field(default_factory=list)  # their check-ins follow
    checkins: dict[str, int] = field(default_factory=dict)

    def count(self, delivery: str) -> None:
        self.deliveries[delivery] = self.deliveries.get(delivery, 0) + 1

    @property
    def sent(self) -> int:
        return self.deliveries.get(Delivery.SENT.value, 0)


async def dispatch(services: Services, now: datetime) -> DispatchReport:
    """One look at what is due at `now`: create due evenings, close missed ones, send the
    claimed reminders, snoozes and nudges."""
    store = services.require_store()
    settings = services.config.reminders
    grace = timedelta(minutes=settings.grace_minutes)
    report = DispatchReport()
    # One process per SQLite database: at start, anything still "sending" was cut off.
    if not services.reminders_recovered and store.backend == "sqlite":
        before = now + timedelta(microseconds=1)
    else:
        before = now - timedelta(seconds=services.config.sending.claim_lease_seconds)
    report.recovered = await services.db(store.recover_sending, before)
    report.recovered += await services.db(store.recover_checkins, before)
    services.reminders_recovered = True
    report.created = await services.db(store.materialise_due, now, grace)
    report.missed = await services.db(store.close_missed, now)
    gate = asyncio.Semaphore(services.config.sending.bulk_connections)
    nudge = settings.nudge_after_minutes
    nudge_at = now + timedelta(minutes=nudge) if nudge else None
    writer: BatchWriter[SendRecord] = BatchWriter(
        lambda batch: services.db(store.record_reminders, batch, now, nudge_at=nudge_at)
    )
    in_flight = services.config.sending.bulk_connections
    claimed = await services.db(store.claim_reminders, now, grace, limit=CLAIM_BATCH)
    while claimed:
        sending = [
            asyncio.ensure_future(_send_reminder(services, e, gate, report, writer))
            for e in claimed
        ]
        # The next batch is claimed while this one's last sends are in flight: waiting for
        # all of them, then for the claim, left Telegram's window idle at every batch (about
        # 0.2 s in 8 s, bench/bench_bulk.py). A crash still leaves at most a batch and the
        # sends in flight claimed and unsent (recorded unknown, never sent twice).
        await _until_at_most(sending, in_flight)
        claimed = await services.db(store.claim_reminders, now, grace, limit=CLAIM_BATCH)
        await asyncio.gather(*sending)
    await writer.drain()
    # Symptom check-ins come just after the evening's reminder.
    report.checkins = await dispatch_checkins(services, now, report.sent_evenings)
    while True:
        followups = await services.db(store.claim_followups, now, grace, limit=CLAIM_BATCH)
        if not followups:
            break
        await asyncio.gather(*(_send_followup(services, f, gate, report) for f in followups))
    if report.deliveries or report.created or report.missed or report.recovered:
        log.info(
            "reminders: %d evenings due, %d missed, %d interrupted, sends %s",
            report.created,
            report.missed,
            report.recovered,
            report.deliveries,
        )
    return report


async def _until_at_most(tasks: Sequence[asyncio.Future[None]], left: int) -> None:
    pending = [task for task in tasks if not task.done()]
    while len(pending) > left:
        _, still = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        pending = list(still)


async def _send(
    services: Services, evening: EveningRecord, kind: str, gate: asyncio.Semaphore
) -> SendResult:
    minutes = services.config.reminders.snooze_minutes
    async with gate:
        return await services.require_sender().send_message(
            evening.chat_id,
            rt.reminder_html(evening, kind),
            lane=Lane.BULK,
            reply_markup=rt.reminder_keyboard(evening, minutes),
        )


async def _send_reminder(
    services: Services,
    evening: EveningRecord,
    gate: asyncio.Semaphore,
    report: DispatchReport,
    writer: BatchWriter[SendRecord],
) -> None:
    result = await _send(services, evening, "reminder", gate)
    message_id = result.value.message_id if result.value is not None else None
    writer.add(SendRecord(evening.id, result.delivery.value, message_id))
    report.count(result.delivery.value)
    if result.delivery is Delivery.SENT:
        report.sent_evenings.append(evening)


async def _send_followup(
    services: Services, followup: FollowupRecord, gate: asyncio.Semaphore, report: DispatchReport
) -> None:
    result = await _send(services, followup.evening, followup.kind, gate)
    store = services.require_store()
    await services.db(
        store.record_followup,
        followup.id,
        result.delivery.value,
        services.clock(),
        message_id=result.value.message_id if result.value is not None else None,
    )
    report.count(result.delivery.value)


async def reminder_tick(context: BotContext) -> None:
    """Job: ask the store what is due now and send it. With several processes on one
    PostgreSQL database one of them sends bulk at a time, so that they share Telegram's limit
    (the claims alone already keep any reminder from going twice)."""
    services = context.services
    if not await services.may_send_bulk():
        return
    await dispatch(services, services.clock())
