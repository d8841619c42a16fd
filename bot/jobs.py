"""Scheduled housekeeping. The scheduler decides when; the store decides what."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.context import BotContext

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=6)
PURGE_FIRST = timedelta(minutes=1)  # shortly after start, so a restart does not skip a purge


async def purge_unanswered(context: BotContext) -> None:
    """Delete unanswered questions older than the retention period."""
    services = context.services
    store = services.require_store()
    days = services.config.storage.unanswered_retention_days
    deleted = await services.db(store.purge_unanswered, services.clock(), days)
    log.info("purged %d unanswered questions older than %d days", deleted, days)


INBOX_KEPT = timedelta(days=1)  # handled updates' ids, kept to recognise a re-delivery


async def purge_inbox(context: BotContext) -> None:
    """Delete handled inbox rows (already without their words) after a day."""
    services = context.services
    store = services.require_store()
    deleted = await services.db(store.purge_inbox, services.clock() - INBOX_KEPT)
    log.info("purged %d handled updates from the inbox", deleted)
