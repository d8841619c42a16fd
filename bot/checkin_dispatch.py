"""Symptom check-ins' dispatch: planned when an evening's reminder has gone out, claimed in
the store (and the claim committed) before the send, sent through the sender's bulk lane, and
recorded afterwards: sent (with the message id), unknown, blocked or not sent. Never two: the
store's unique (chat, evening, kind) rows and atomic claims see to it, as for reminders. An
evening that asks both about side effects and for the weekly pain score gets one message
(one notification): the side effects first, then the pain score in the same message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot import checkin_texts as ct
from bot.context import Services
from bot.sender import Lane
from store import CheckinRecord
from store.records import EveningRecord

log = logging.getLogger(__name__)

CLAIM_BATCH = 200


async def dispatch_checkins(
    services: Services, now: datetime, sent: Sequence[EveningRecord]
) -> dict[str, int]:
    """Plan the check-ins of the evenings whose reminders were just `sent`, then send every
    check-in due by `now` (also those a crash left pending, while their evening lasts).
    Returns how many ended in each delivery."""
    store = services.require_store()
    settings = services.config.reminders
    if sent:
        await services.db(
            store.plan_checkins,
            list(sent),
            now,
            after_days=settings.checkin_after_days,
            pain_every_days=settings.pain_every_days,
            grace=timedelta(minutes=settings.grace_minutes),
        )
    gate = asyncio.Semaphore(services.config.sending.bulk_connections)
    deliveries: dict[str, int] = {}
    while True:
        claimed = await services.db(store.claim_checkins, now, limit=CLAIM_BATCH)
        if not claimed:
            break
        together: dict[tuple[int, date], list[CheckinRecord]] = {}
        for checkin in claimed:
            together.setdefault((checkin.chat_id, checkin.local_date), []).append(checkin)
        results = await asyncio.gather(*(_send(services, c, gate) for c in together.values()))
        for delivery, count in results:
            deliveries[delivery] = deliveries.get(delivery, 0) + count
    if deliveries:
        log.info("symptom check-ins: sends %s", deliveries)
    return deliveries


async def _send(
    services: Services, evening: list[CheckinRecord], gate: asyncio.Semaphore
) -> tuple[str, int]:
    """Send one evening's check-ins as one message (the side effects first, when asked) and
    record each of them with its delivery."""
    checkin = min(evening, key=lambda c: c.kind != "side_effects")
    async with gate:
        result = await services.require_sender().send_message(
            checkin.chat_id,
            ct.checkin_html(checkin, then_pain=len(evening) > 1),
            lane=Lane.BULK,
            reply_markup=ct.checkin_keyboard(checkin),
            # It follows the evening's reminder, which has just rung: one alert an evening.
            silent=True,
        )
    message_id = result.value.message_id if result.value is not None else None
    for each in evening:
        await services.db(
            services.require_store().record_checkin,
            each.id,
            result.delivery.value,
            services.clock(),
            message_id=message_id,
        )
    return result.delivery.value, len(evening)
