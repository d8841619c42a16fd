"""Wiring: `build_application(config)` builds the whole bot; `run_polling` runs it.

Tests build the very same Application, pointed at a fake Bot API server on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import texts
from bot.config import Config, ConfigError
from bot.context import BotApplication, BotContext, BotData, Services
from bot.dispatch import reminder_tick
from bot.errors import error_handler
from bot.handlers.ask import answer_button, edited_question, question
from bot.handlers.forget import forget, forget_button, stale_button
from bot.handlers.plan import plan, plan_button, plan_reply
from bot.handlers.reminders import (
    pause,
    pause_button,
    reminder_button,
    resume,
    schedule,
    stop,
    time_command,
    timezone_command,
    today,
)
from bot.handlers.sources import sources
from bot.handlers.start import help_command, privacy, start
from bot.handlers.topics import topics, topics_button
from bot.jobs import PURGE_EVERY, PURGE_FIRST, purge_unanswered
from bot.sender import Sender
from knowledge import Engine, KnowledgeError, load
from reminders import PlanError, load_plans
from store import Store, StoreError

log = logging.getLogger(__name__)

# Connections to the Bot API. Three keep one reply's round trip overlapped with the next
# questions' matching, and at Telegram's usual ~100 ms round trip carry about its 30 messages/s;
# each one more costs CPU on every request, since httpcore checks them all (bench/bench_bot.py:
# 2 give 0.81x the echo bot's rate, 3 give 0.84x, 4 give 0.79x). Updates handled at once (in
# order within each chat) match them, so that a reply waits in our cheap queue rather than in
# httpcore's pool, whose queue also costs CPU on every request.
CONNECTIONS = 3
CONCURRENT_UPDATES = CONNECTIONS
REMINDERS_FIRST = 2.0  # seconds after start: reminders missed while down go out (within grace)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat: two quick questions from one patient
    are answered in the order asked, while other patients are not kept waiting.

    The chat's lock is taken before one of the `slots`: otherwise one patient's burst of
    messages (or a rate-limited group) would hold every slot while waiting on its own lock.
    PTB's own semaphore (`waiting`) only bounds how many updates may be queued here."""

    def __init__(self, slots: int, waiting: int = 1024, max_chats: int = 10_000) -> None:
        super().__init__(waiting)
        self._slots = asyncio.BoundedSemaphore(slots)
        self._locks: OrderedDict[int, asyncio.Lock] = OrderedDict()
        self._max_chats = max_chats

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.pop(chat_id, None) or asyncio.Lock()
        self._locks[chat_id] = lock
        while len(self._locks) > self._max_chats:
            oldest, old = next(iter(self._locks.items()))
            if old.locked():
                break
            del self._locks[oldest]
        return lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        async with self._lock(chat.id), self._slots:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


async def _post_init(application: BotApplication) -> None:
    services = application.bot_data.services
    assert services is not None
    if services.store is None:
        services.store = await asyncio.to_thread(Store.open, services.config.storage.url)
    if services.sender is None:
        services.sender = Sender(application.bot)
    await application.bot.set_my_commands([BotCommand(n, d) for n, d in texts.COMMANDS])


async def _post_shutdown(application: BotApplication) -> None:
    services = application.bot_data.services
    if services is not None and services.recorder is not None:
        await services.recorder.drain()
        services.recorder = None
    if services is not None and services.store is not None:
        await asyncio.to_thread(services.store.close)
        services.store = None


def build_application(
    config: Config,
    *,
    engine: Engine | None = None,
    store: Store | None = None,
) -> BotApplication:
    """The whole bot: builder, services, every handler in order, the error handler."""
    quiet_token_leaks()
    services = Services(
        config=config,
        engine=engine or Engine(load(config.knowledge.path), config.clinic),
        store=store,
        plans=load_plans(config.reminders.plans),
    )
    context_types = ContextTypes(context=BotContext, bot_data=BotData)
    builder = (
        ApplicationBuilder()
        .token(config.require_token())
        .base_url(config.telegram.base_url)
        .base_file_url(config.telegram.base_file_url)
        .context_types(context_types)
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        # A small pool: httpcore checks every idle connection on every request, and a request
        # waits for a free connection (pool_timeout) instead of failing.
        .connection_pool_size(CONNECTIONS)
        .pool_timeout(10.0)
        .connect_timeout(config.telegram.connect_timeout)
        .get_updates_read_timeout(config.telegram.poll_timeout + 10)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if config.telegram.rate_limit:
        # Telegram's limits: about 30 messages/s overall and 20/min per group, RetryAfter
        # honoured. The outbox pacing for bulk sends (broadcasts) comes with that issue.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.services = services

    # A typed answer to a /plan prompt (a reply to it) is taken before questions; any other
    # message passes on to them.
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            plan_reply,
        ),
        group=-1,
    )

    # Free text (or a photo's caption) is a question; in groups only when the bot is
    # mentioned or replied to. An edited message is read again for safety only. Checked first:
    # most updates are questions, and no command or button matches these filters.
    asked = (filters.TEXT & ~filters.COMMAND) | filters.CAPTION
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & asked, question))
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & asked, edited_question)
    )

    # Commands. In groups PTB passes "/help" and "/help@thisbot", not "/help@otherbot".
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("topics", topics))
    application.add_handler(CommandHandler("sources", sources))
    application.add_handler(CommandHandler("privacy", privacy))
    application.add_handler(CommandHandler("forget", forget))
    # Reminders.
    application.add_handler(CommandHandler("plan", plan))
    application.add_handler(CommandHandler("today", today))
    application.add_handler(CommandHandler("schedule", schedule))
    application.add_handler(CommandHandler("pause", pause))
    application.add_handler(CommandHandler("resume", resume))
    application.add_handler(CommandHandler("stop", stop))
    application.add_handler(CommandHandler("time", time_command))
    application.add_handler(CommandHandler("timezone", timezone_command))

    # Buttons: each prefix re-checked by its handler; anything else is stale or forged.
    application.add_handler(CallbackQueryHandler(answer_button, pattern=r"^[aq]:"))
    application.add_handler(CallbackQueryHandler(topics_button, pattern=r"^t:"))
    application.add_handler(CallbackQueryHandler(forget_button, pattern=r"^f:"))
    application.add_handler(CallbackQueryHandler(reminder_button, pattern=r"^r:"))
    application.add_handler(CallbackQueryHandler(plan_button, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(pause_button, pattern=r"^w:"))
    application.add_handler(CallbackQueryHandler(stale_button))

    application.add_error_handler(error_handler)

    # Housekeeping: unanswered questions are kept only for the retention period.
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        purge_unanswered, interval=PURGE_EVERY, first=PURGE_FIRST, name="purge-unanswered"
    )
    # Nightly reminders: the scheduler decides when to look, the store what is due. One run at
    # a time (a long dispatch makes the next tick wait, not overlap).
    application.job_queue.run_repeating(
        reminder_tick,
        interval=config.reminders.tick_seconds,
        first=REMINDERS_FIRST,
        name="reminders",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    return application


def quiet_token_leaks() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs hold the bot token."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    quiet_token_leaks()
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


async def _preflight(config: Config) -> str:
    """Reach the Bot API server with the token before anything starts; returns @username."""
    bot = Bot(
        config.require_token(),
        base_url=config.telegram.base_url,
        base_file_url=config.telegram.base_file_url,
    )
    async with bot:
        return bot.username


def run_polling(config: Config) -> int:
    """Validate everything, then poll until SIGINT/SIGTERM. Returns the exit status."""
    configure_logging(config.logging.level)
    try:
        application = build_application(config)
        # Fail fast: open (and migrate) the store and reach the Bot API before polling starts.
        services = application.bot_data.services
        assert services is not None
        services.store = Store.open(config.storage.url)
        try:
            username = asyncio.run(_preflight(config))
        except BaseException:
            services.store.close()
            raise
    except (ConfigError, KnowledgeError, PlanError) as exc:
        print(f"ldn-bot: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"ldn-bot: storage: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except InvalidToken:
        print("ldn-bot: the Bot API server rejected the token", file=sys.stderr)
        return 2
    except TelegramError as exc:  # NetworkError, TimedOut, ...
        print(
            f"ldn-bot: cannot reach the Bot API server at {config.telegram.base_url} "
            f"({type(exc).__name__})",
            file=sys.stderr,
        )
        return 2
    log.info("starting @%s with long polling", username)
    # PTB stops cleanly on SIGINT and SIGTERM (its default stop_signals), then post_shutdown
    # closes the store.
    application.run_polling(
        allowed_updates=["message", "edited_message", "callback_query"],
        timeout=config.telegram.poll_timeout,
    )
    log.info("stopped")
    return 0
