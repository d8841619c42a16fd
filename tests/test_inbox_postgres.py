"""Two bot processes on one PostgreSQL database: one polls, both handle, each update is
answered once; when the polling process is killed the other takes over."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.fakebotapi import FakeBotApi, factories
from tests.procharness import TOKEN, answers_per_chat, start_bot, write_config

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def wait_answered(server: FakeBotApi, chats: list[int], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(answers_per_chat(server, chats)) < len(chats):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await server.wait_for_any_call(remaining)


async def test_two_processes_share_the_inbox_and_take_over(tmp_path: Path, pg_url: str) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        server.latency = 0.005
        configs = []
        for name in ("one", "two"):
            folder = tmp_path / name
            folder.mkdir()
            configs.append(write_config(folder, server, db_url=pg_url))
        first = await start_bot(configs[0])
        await server.wait_for("getUpdates", timeout=60)
        second = await start_bot(configs[1])
        try:
            chats = list(range(900_000, 900_100))
            for chat in chats:
                server.push_update(factories.private_message("what is ldn", user_id=chat))
            await wait_answered(server, chats, 60)
            counts = answers_per_chat(server, chats)
            assert all(counts[chat] == 1 for chat in chats), counts.most_common(3)
            # Only one process ever polls: Telegram answers a second caller with 409.
            assert not [c for c in server.calls_to("getUpdates") if c.status == 409]

            first.send_signal(signal.SIGKILL)
            await first.wait()
            later = list(range(900_100, 900_130))
            for chat in later:
                server.push_update(factories.private_message("hello", user_id=chat))
            await wait_answered(server, later, 60)
            assert len(answers_per_chat(server, later)) == len(later)
        finally:
            for process in (first, second):
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(process.wait(), timeout=30)
        server.assert_no_violations()
