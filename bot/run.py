"""Running the bot: logging, the checks before start (fail fast, one clear line), and the
polling loop until SIGINT or SIGTERM. The Application itself is wired in :mod:`bot.app`."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Iterable

from telegram.error import InvalidToken, TelegramError

from bot import logredact
from bot.app import CONCURRENT_UPDATES, build_application, quiet_token_leaks
from bot.botapi import fetch_username
from bot.config import Config, ConfigError, check_database_moved
from bot.context import BotApplication
from bot.inbox import InboxRunner
from bot.reload import install_sighup
from knowledge import KnowledgeError
from reminders import PlanError
from store import Store, StoreError

log = logging.getLogger("bot.app")


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """One stderr handler at ``level``; no record shows ``secrets`` (the bot token), at any
    level, tracebacks included (:mod:`bot.logredact`)."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    logredact.install(secrets)
    quiet_token_leaks()
    for chatty in ("alembic", "apscheduler"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def run_polling(config: Config) -> int:
    """Validate everything, then poll until SIGINT/SIGTERM. Returns the exit status."""
    token = config.telegram.token
    configure_logging(config.logging.level, [token.get()] if token else [])
    try:
        application = build_application(config)
        # Fail fast: open (and migrate) the store and reach the Bot API before polling starts.
        services = application.bot_data.services
        assert services is not None
        check_database_moved(config)
        services.store = Store.open(config.storage.url)
        try:
            username = asyncio.run(fetch_username(config))
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
    asyncio.run(serve(application))
    log.info("stopped")
    return 0


async def serve(application: BotApplication) -> None:
    """Run the bot until SIGINT or SIGTERM: start the Application (jobs included), the inbox's
    poller and dispatcher; on a signal stop them in turn, then close the store."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        install_sighup(application)
        await application.start()
        runner = InboxRunner(application, slots=CONCURRENT_UPDATES)
        await runner.start()
        stopped = asyncio.create_task(stop.wait())
        ended = asyncio.create_task(runner.wait())
        try:
            await asyncio.wait([stopped, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            ended.cancel()
            await runner.stop()
            await application.stop()
            await application.post_shutdown(application)
        if ended.done() and not ended.cancelled() and ended.exception() is not None:
            raise ended.exception()  # type: ignore[misc]
