"""Runs the real Application from `build_application(config)` against the fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import CONCURRENT_UPDATES, build_application
from bot.config import Config, from_dict
from bot.context import BotApplication
from bot.inbox import InboxRunner
from knowledge import Engine
from store import Store
from tests.fakebotapi import FakeBotApi

TOKEN = "123456:TEST-token-that-must-never-be-logged"
CLINIC = {
    "name": "the pain clinic",
    "phone": "+1 555 0100",
    "hours": "Mon-Fri 8:00-17:00",
    "emergency_number": "911",
    "crisis_line": "988",
}


def make_config(server: FakeBotApi, db: Path, **telegram: Any) -> Config:
    return from_dict(
        {
            "clinic": CLINIC,
            "telegram": {
                "token": TOKEN,
                "base_url": server.base_url,
                "base_file_url": server.base_file_url,
                "poll_timeout": 1,
                "rate_limit": False,
                **telegram,
            },
            "storage": {"url": f"sqlite:///{db}"},
        }
    )


def find_clarify_question(engine: Engine) -> str:
    """A question the engine answers with "did you mean": two topics' words mixed together."""
    entries = engine.entries
    for first in entries:
        for second in entries:
            if first.id >= second.id or not first.keywords or not second.keywords:
                continue
            question = f"{first.keywords[0]} {second.keywords[0]}"
            if engine.ask(question).status.value == "clarify":
                return question
    raise AssertionError("no mixed-topic question needs clarification")


@dataclass
class RunningBot:
    server: FakeBotApi
    app: BotApplication
    config: Config

    @property
    def store(self) -> Store:
        services = self.app.bot_data.services
        assert services is not None and services.store is not None
        return services.store


SLEPT: list[float] = []


async def no_wait(seconds: float) -> None:
    """The sender's sleep in end-to-end tests: noted in SLEPT, then on at once."""
    SLEPT.append(seconds)
    await asyncio.sleep(0)


@asynccontextmanager
async def running_bot(
    server: FakeBotApi, config: Config, engine: Engine | None = None
) -> AsyncIterator[RunningBot]:
    """Start the application as `run_polling` would (post_init included), stop it after."""
    app = build_application(config, engine=engine)
    services = app.bot_data.services
    assert services is not None
    services.sleep = no_wait  # the sender's backoff and retry_after cost no real time
    async with app:
        assert app.post_init is not None and app.post_shutdown is not None
        await app.post_init(app)
        await app.start()
        runner = InboxRunner(app, slots=CONCURRENT_UPDATES, retry_delays=(timedelta(0),))
        await runner.start()
        try:
            yield RunningBot(server, app, config)
        finally:
            await runner.stop()
            await app.stop()
            await app.post_shutdown(app)
