"""Wiring: `build_application(config)` builds the whole bot (`bot.run` runs it).

Tests build the very same Application, pointed at a fake Bot API server on loopback.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommand
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot import texts
from bot.alerts import alert_tick
from bot.botapi import BotApi
from bot.broadcasts import TICK_SECONDS, broadcast_tick
from bot.config import Config
from bot.context import BotApplication, BotContext, BotData, Services
from bot.dispatch import reminder_tick
from bot.errors import error_handler
from bot.handlers.alerts import alert_button, alerts_command
from bot.handlers.ask import answer_button, edited_question, question
from bot.handlers.broadcast import broadcast, broadcast_button, broadcast_reply
from bot.handlers.broadcast_list import broadcast_stop_button, broadcasts
from bot.handlers.checkin import checkin_button
from bot.handlers.enrol import enrol, enrolment_button, updates
from bot.handlers.forget import forget, forget_button, stale_button
from bot.handlers.history import history, mydata
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
from bot.handlers.staff import join, staff_button, staff_command
from bot.handlers.start import help_command, privacy, start
from bot.handlers.stats import export, reload_command, stats
from bot.handlers.symptoms import checkins, symptom_button
from bot.handlers.topics import topics, topics_button
from bot.handlers.unknown import LONE_SLASH, unknown_command
from bot.jobs import PURGE_EVERY, PURGE_FIRST, purge_inbox, purge_unanswered
from bot.relay import relay_text
from bot.reload import RELOAD_EVERY, reload_tick
from bot.sender import Pace, Sender
from bot.staff import install_menus
from bot.wire import Timeouts
from knowledge import Engine, load
from reminders import load_plans
from store import Store, StoreError

log = logging.getLogger(__name__)

# Connections to the Bot API for replies, and updates handled at once (in order within each
# chat, by the inbox's dispatcher). A reply waits out its round trip to Telegram while the
# next questions are matched, so more at once overlap more of that wait. Through httpx each
# connection cost CPU on every request (3 was best then); over our own client (bot/wire.py)
# bench/bench_outside.py gave 3: 0.84x and 0.64x the echo bot, 6: 0.92x and 0.95x, 8: 0.79x
# and 1.12x (medians of 3 runs each, interleaved; the machine is noisy).
CONNECTIONS = 6
CONCURRENT_UPDATES = CONNECTIONS
REMINDERS_FIRST = 2.0  # seconds after start: reminders missed while down go out (within grace)
ALERTS_EVERY = 20.0  # seconds between looks for new alert events and deliveries due


async def _post_init(application: BotApplication) -> None:
    services = application.bot_data.services
    assert services is not None
    if services.store is None:
        services.store = await asyncio.to_thread(Store.open, services.config.storage.url)
    if services.sender is None:
        services.sender = await _make_sender(application, services)
    await application.bot.set_my_commands([BotCommand(n, d) for n, d in texts.COMMANDS])
    await install_menus(application.bot, services)


async def _make_sender(application: BotApplication, services: Services) -> Sender:
    """The one sender: replies on the application's bot and connections, bulk sends on a Bot
    of their own, so that a burst of reminders never takes the connections replies need."""
    config = services.config
    bulk_bot = Bot(
        config.require_token(),
        base_url=config.telegram.base_url,
        base_file_url=config.telegram.base_file_url,
        request=HTTPXRequest(
            connection_pool_size=config.sending.bulk_connections,
            connect_timeout=config.telegram.connect_timeout,
            pool_timeout=10.0,
        ),
    )
    await bulk_bot.initialize()
    services.bulk_bot = bulk_bot
    # sendMessage, the call nearly every reply and reminder is, goes out through the sender's
    # own clients (bot/botapi.py, bot/wire.py): a tenth of PTB's and httpx's CPU per message.
    timeouts = Timeouts(connect=config.telegram.connect_timeout)
    api = BotApi(application.bot, connections=CONNECTIONS, timeouts=timeouts)
    bulk_api = BotApi(bulk_bot, connections=config.sending.bulk_connections, timeouts=timeouts)

    async def on_blocked(chat_id: int) -> None:
        services.forget_seen(chat_id)
        try:
            await services.db(services.require_store().mark_unreachable, chat_id, services.clock())
        except StoreError as exc:
            log.warning("could not mark a chat unreachable (%s)", type(exc).__name__)

    pace = Pace(
        per_second=config.sending.messages_per_second,
        per_chat_per_second=config.sending.per_chat_per_second,
        enabled=config.telegram.rate_limit,
        ceiling=config.sending.most_in_any_second,
    )
    return Sender(
        application.bot,
        bulk_bot=bulk_bot,
        sleep=services.sleep,
        on_blocked=on_blocked,
        pace=pace,
        connections=(CONNECTIONS, config.sending.bulk_connections),
        api=api,
        bulk_api=bulk_api,
    )


async def _post_shutdown(application: BotApplication) -> None:
    services = application.bot_data.services
    if services is not None and services.sender is not None:
        await services.sender.aclose()
        services.sender = None
    if services is not None and services.bulk_bot is not None:
        await services.bulk_bot.shutdown()
        services.bulk_bot = None
    if services is not None and services.recorder is not None:
        await services.recorder.drain()
        services.recorder = None
    if services is not None and services.store is not None:
        await asyncio.to_thread(services.release_locks)
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
        # No Updater: it acknowledges updates before they are handled. The inbox
        # (bot/inbox.py) stores each batch first, then handles it from the store.
        .updater(None)
        # A small pool: httpcore checks every idle connection on every request, and a request
        # waits for a free connection (pool_timeout) instead of failing.
        .connection_pool_size(CONNECTIONS)
        .pool_timeout(10.0)
        .connect_timeout(config.telegram.connect_timeout)
        .get_updates_read_timeout(config.telegram.poll_timeout + 10)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # Telegram's limits are kept by the sender (bot/sender.py), not by PTB's rate limiter:
    # its one first-come queue put replies behind bulk sends.
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.services = services

    # Staff alerts' relay: a staff member's message being composed, or a patient's reply to a
    # relayed message, is taken before anything else; other text passes on.
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
            relay_text,
        ),
        group=-3,
    )

    # Staff's typed answers to /broadcast's prompts (the message, the time); anything else,
    # and anything from patients, passes on. Any kind of message: a sticker or a Word file
    # gets "text, a photo or a PDF", not silence.
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & filters.REPLY & ~filters.COMMAND,
            broadcast_reply,
        ),
        group=-2,
    )

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
    asked = (filters.TEXT & ~filters.COMMAND & ~LONE_SLASH) | filters.CAPTION
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
    # Clinic staff (bot/staff.py): deny by default; private chats only.
    application.add_handler(CommandHandler("join", join))
    application.add_handler(CommandHandler("staff", staff_command))
    # Symptom check-ins, history and the patient's own data.
    application.add_handler(CommandHandler("checkins", checkins))
    application.add_handler(CommandHandler("history", history))
    application.add_handler(CommandHandler("mydata", mydata))
    application.add_handler(CommandHandler("enrol", enrol))
    application.add_handler(CommandHandler("broadcast", broadcast))
    application.add_handler(CommandHandler("broadcasts", broadcasts))
    application.add_handler(CommandHandler("updates", updates))
    # Staff alerts and reports (issue #11): staff only, deny by default (bot/staff.py).
    application.add_handler(CommandHandler("alerts", alerts_command))
    application.add_handler(CommandHandler("stats", stats))
    application.add_handler(CommandHandler("export", export))
    application.add_handler(CommandHandler("reload", reload_command))
    # Last among the message handlers: any other command, and a message that is only "/", get
    # a pointer to /help ("/ what is ldn" is a question, above).
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & (filters.COMMAND | LONE_SLASH), unknown_command)
    )

    # Buttons: each prefix re-checked by its handler; anything else is stale or forged.
    application.add_handler(CallbackQueryHandler(answer_button, pattern=r"^[aq]:"))
    application.add_handler(CallbackQueryHandler(topics_button, pattern=r"^t:"))
    application.add_handler(CallbackQueryHandler(forget_button, pattern=r"^f:"))
    application.add_handler(CallbackQueryHandler(checkin_button, pattern=r"^s:"))
    application.add_handler(CallbackQueryHandler(reminder_button, pattern=r"^r:"))
    application.add_handler(CallbackQueryHandler(plan_button, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(pause_button, pattern=r"^w:"))
    application.add_handler(CallbackQueryHandler(staff_button, pattern=r"^x:"))
    application.add_handler(CallbackQueryHandler(symptom_button, pattern=r"^c:"))
    application.add_handler(CallbackQueryHandler(enrolment_button, pattern=r"^e:"))
    application.add_handler(CallbackQueryHandler(broadcast_stop_button, pattern=r"^b:stop:"))
    application.add_handler(CallbackQueryHandler(broadcast_button, pattern=r"^b:"))
    application.add_handler(CallbackQueryHandler(alert_button, pattern=r"^l:"))
    application.add_handler(CallbackQueryHandler(stale_button))

    application.add_error_handler(error_handler)

    # Housekeeping: unanswered questions are kept only for the retention period.
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        purge_unanswered, interval=PURGE_EVERY, first=PURGE_FIRST, name="purge-unanswered"
    )
    application.job_queue.run_repeating(
        purge_inbox, interval=PURGE_EVERY, first=PURGE_FIRST, name="purge-inbox"
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
    # Broadcasts: the same pattern, more often (a "Send now" starts within a tick).
    application.job_queue.run_repeating(
        broadcast_tick,
        interval=TICK_SECONDS,
        first=REMINDERS_FIRST,
        name="broadcasts",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    # Staff alerts from new events, and their deliveries; reload requests from the store.
    application.job_queue.run_repeating(
        alert_tick,
        interval=ALERTS_EVERY,
        first=REMINDERS_FIRST,
        name="alerts",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    application.job_queue.run_repeating(
        reload_tick,
        interval=RELOAD_EVERY,
        first=REMINDERS_FIRST,
        name="reload",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    return application


def quiet_token_leaks() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs hold the bot token."""
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
