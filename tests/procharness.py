"""`ldn-bot run` as a child process against the fake Bot API server, for kill -9 tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.fakebotapi import FakeBotApi, factories

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "4242:RUN-test-token"


def write_config(
    tmp_path: Path, server: FakeBotApi, db_url: str | None = None, extra: tuple[str, ...] = ()
) -> Path:
    url = db_url or f"sqlite:///{tmp_path / 'run.sqlite3'}"
    lines = [
        "[telegram]",
        f'base_url = "{server.base_url}"',
        f'base_file_url = "{server.base_file_url}"',
        f'token = "{server.token}"',
        "poll_timeout = 1",
        "connect_timeout = 2",
        "rate_limit = false",
        "[storage]",
        f'url = "{url}"',
        "[logging]",
        'level = "WARNING"',
        *extra,
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def start_bot(
    config: Path, stdout: int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """`python -m bot run --config CONFIG`, without a token from the developer's environment."""
    env = {k: v for k, v in os.environ.items() if k != "LDN_BOT_TOKEN"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        cwd=ROOT, env=env, stdout=stdout, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def answers_per_chat(server: FakeBotApi, chats: list[int]) -> Counter[int]:
    wanted = set(chats)
    return Counter(
        call.params["chat_id"]
        for call in server.calls_to("sendMessage")
        if call.ok and call.params.get("chat_id") in wanted
    )


@dataclass(frozen=True)
class KillResult:
    kill_after: int
    answered_at_kill: int
    lost: int
    duplicated: int


async def burst_kill_restart(
    tmp_path: Path, *, patients: int, kill_after: int, timeout: float = 120.0
) -> KillResult:
    """``patients`` write at once; kill -9 the bot after ``kill_after`` answers; restart it;
    count the patients never answered and those answered more than once."""
    chats = list(range(700_000, 700_000 + patients))
    async with FakeBotApi(token=TOKEN) as server:
        server.latency = 0.005  # replies take a little while, as Telegram's do
        config = write_config(tmp_path, server)
        process = await start_bot(config)
        try:
            await server.wait_for("getUpdates", timeout=60)
            for chat in chats:
                server.push_update(factories.private_message("what is ldn", user_id=chat))
            await server.wait_for("sendMessage", lambda c: c.ok, count=kill_after, timeout=timeout)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        at_kill = sum(answers_per_chat(server, chats).values())
        process = await start_bot(config)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while len(answers_per_chat(server, chats)) < patients:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await server.wait_for_any_call(remaining)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        counts = answers_per_chat(server, chats)
    return KillResult(
        kill_after=kill_after,
        answered_at_kill=at_kill,
        lost=sum(1 for chat in chats if counts[chat] == 0),
        duplicated=sum(1 for chat in chats if counts[chat] > 1),
    )
