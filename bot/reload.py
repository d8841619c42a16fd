"""Reloading the knowledge base and the titration plans while the bot runs.

/reload (admins), `ldn-bot reload` (a request row in the store, so every process sees it,
on SQLite or PostgreSQL) and SIGHUP all come here. Both files are loaded and validated
first; only when both load are they swapped in, together (one assignment each, on the event
loop, between two updates). A broken file is rejected with the loader's message (file, entry,
field) and the old knowledge base and plans stay in service. Regimens are not touched: each
keeps the copy of the plan's steps it was given.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from bot.config import Config
from bot.context import BotApplication, BotContext, Services
from knowledge import Engine, KnowledgeError, load
from reminders import PlanBook, PlanError, load_plans
from store import StoreError

log = logging.getLogger(__name__)

RELOAD_EVERY = 10.0  # seconds between looks at the store for a reload request
SIGNAL = "sighup"  # the audit actor of a reload by signal


@dataclass(frozen=True)
class Loaded:
    engine: Engine
    plans: PlanBook

    def summary(self) -> str:
        kb = self.engine.kb
        return (
            f"{len(kb.entries)} entries, {len(kb.safety_rules)} safety rules, "
            f"{len(kb.gaps)} gaps, {len(self.plans.plans)} plans"
        )


def load_files(config: Config) -> Loaded:
    """Load and validate both; raises KnowledgeError or PlanError naming file, entry, field."""
    engine = Engine(load(config.knowledge.path), config.clinic)
    plans = load_plans(config.reminders.plans)
    return Loaded(engine, plans)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # the summary, or the loader's error


async def reload_now(services: Services, *, actor: str, request_id: int | None) -> Outcome:
    """Load both files and swap them in, or keep the old ones and say why. Audited."""
    try:
        loaded = await asyncio.to_thread(load_files, services.config)
    except (KnowledgeError, PlanError) as exc:
        outcome = Outcome(False, " ".join(str(exc).split()))
    else:
        services.engine = loaded.engine
        services.plans = loaded.plans
        if services.recorder is not None:
            # Its normaliser is the old engine's: a new one is made on the next question.
            await services.recorder.drain()
            services.recorder = None
        outcome = Outcome(True, loaded.summary())
    now = services.clock()
    store = services.require_store()
    try:
        if request_id is not None:
            await services.db(
                store.finish_reload, request_id, now, ok=outcome.ok, result=outcome.message
            )
        await services.db(
            store.append_audit,
            actor,
            "reload" if outcome.ok else "reload-failed",
            now,
            detail=outcome.message,
        )
    except StoreError as exc:
        log.warning("could not record a reload: %s", type(exc).__name__)
    if outcome.ok:
        log.info("reloaded the knowledge base and plans: %s", outcome.message)
    else:
        log.error("reload rejected, the old files stay in service: %s", outcome.message)
    return outcome


async def check_requests(services: Services, *, force: bool = False) -> Outcome | None:
    """Apply a reload request made since this process last looked. On the first look the
    files were loaded at start, so only a request still pending is applied: it may have been
    written between that load and this look, and applying it again costs one load. ``force``
    (SIGHUP) reloads even without a new request."""
    store = services.require_store()
    latest = await services.db(store.latest_reload_id)
    seen = services.reload_seen
    services.reload_seen = latest
    request = None
    if latest and (seen is None or latest > seen):
        request = await services.db(store.get_reload, latest)
    if request is None or (seen is None and request.state != "pending"):
        return await reload_now(services, actor=SIGNAL, request_id=None) if force else None
    return await reload_now(services, actor=request.requested_by, request_id=latest)


async def reload_tick(context: BotContext) -> None:
    """Job: look for a reload request in the store."""
    await check_requests(context.services)


def install_sighup(application: BotApplication) -> None:
    """SIGHUP reloads at once (`ldn-bot reload --pid PID`, or `kill -HUP`)."""
    services = application.bot_data.services
    assert services is not None
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[Outcome | None]] = set()

    def on_hup() -> None:
        task = loop.create_task(_forced(services))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hup)


async def _forced(services: Services) -> Outcome | None:
    if services.reload_seen is None:
        services.reload_seen = 0  # a request written just before the signal is applied
    return await check_requests(services, force=True)
