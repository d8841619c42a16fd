"""A broadcast survives kill -9: the bot runs as a child process (`ldn-bot run`) against the
fake Bot API server; it is killed half-way through a 2,000-patient broadcast and started
again, or (on PostgreSQL) a second process takes over from the killed one. Nobody gets the
broadcast twice; nobody is lost except rows claimed at the kill, which are counted "unknown"
(the Bot API has no idempotency key, so they are never resent)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import SendingConfig
from store import Store
from tests.fakebotapi import FakeBotApi
from tests.procharness import TOKEN, start_bot, write_config

pytestmark = pytest.mark.e2e

STAFF = 9001
FIRST = 800_000
PATIENTS = 2000
# Claimed and not yet recorded at the kill: the workers' sends (one per bulk connection), the
# half-batch queued behind them and the one being queued, and results not yet written.
IN_FLIGHT = 3 * SendingConfig().bulk_connections


def prepare(url: str, text: str = "Clinic news") -> int:
    """2,000 patients and a broadcast launched to them (its outbox written)."""
    now = datetime.now(UTC)
    with Store.open(url) as store:
        for chat in range(FIRST, FIRST + PATIENTS):
            store.record_chat(chat, "private", now, started=True)
        draft = store.new_broadcast_draft(STAFF, now)
        store.update_draft(draft.id, text=text, audience="all", stage="preview")
        assert store.launch_broadcast(draft.id, now) == PATIENTS
        return draft.id


def received(server: FakeBotApi) -> Counter[int]:
    return Counter(
        call.params["chat_id"]
        for call in server.calls_to("sendMessage")
        if call.ok and FIRST <= call.params.get("chat_id", 0) < FIRST + PATIENTS
    )


async def wait_until_drained(
    server: FakeBotApi, url: str, broadcast_id: int, timeout: float = 120.0
) -> dict[str, int]:
    """Look in the store after the bot's calls until no row is still pending."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with Store.open(url) as store:
            counts = store.outbox_counts(broadcast_id)
        if counts.get("pending", 0) == 0 or loop.time() > deadline:
            return counts
        await server.wait_for_any_call(min(1.0, deadline - loop.time()))


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=30)


def check(counts: dict[str, int], got: Counter[int]) -> None:
    assert counts.get("pending", 0) == 0, counts
    assert set(got.values()) <= {1}, "somebody got the broadcast twice"
    unknown = counts.get("unknown", 0) + counts.get("sending", 0)
    assert unknown <= IN_FLIGHT, counts
    assert counts.get("sent", 0) + unknown == PATIENTS, counts
    # Every patient recorded as sent got it; the rest are the unknown ones.
    assert len(got) >= counts.get("sent", 0)
    assert PATIENTS - len(got) <= unknown


async def test_kill_9_half_way_and_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    bid = prepare(url)
    async with FakeBotApi(token=TOKEN) as server:
        server.latency = 0.005
        config = write_config(tmp_path, server, url)
        process = await start_bot(config)
        try:
            await server.wait_for(
                "sendMessage", lambda c: c.ok and c.params.get("chat_id", 0) >= FIRST,
                count=PATIENTS // 2, timeout=120,
            )  # fmt: skip
        finally:
            await kill(process)
        at_kill = sum(received(server).values())
        assert at_kill < PATIENTS
        process = await start_bot(config)
        try:
            counts = await wait_until_drained(server, url, bid)
            # The restarted process found the rows the killed one left "sending".
            await server.wait_for(
                "sendMessage", lambda c: "finished" in str(c.params.get("text")), timeout=60
            )
        finally:
            await stop(process)
        with Store.open(url) as store:
            counts = store.outbox_counts(bid)
        got = received(server)
    check(counts, got)
    assert counts.get("sending", 0) == 0  # SQLite: one process, so at start all were swept


@pytest.mark.postgres
async def test_two_processes_on_postgres_share_one_broadcast(tmp_path: Path, pg_url: str) -> None:
    bid = prepare(pg_url)
    async with FakeBotApi(token=TOKEN) as server:
        server.latency = 0.005
        config = write_config(tmp_path, server, pg_url)
        first = await start_bot(config)
        second: asyncio.subprocess.Process | None = None
        try:
            await server.wait_for(
                "sendMessage", lambda c: c.ok and c.params.get("chat_id", 0) >= FIRST,
                count=100, timeout=120,
            )  # fmt: skip
            second = await start_bot(config)
            await server.wait_for(
                "sendMessage", lambda c: c.ok and c.params.get("chat_id", 0) >= FIRST,
                count=PATIENTS // 2, timeout=120,
            )  # fmt: skip
            await kill(first)  # the one sending: the second takes over the bulk lock
            counts = await wait_until_drained(server, pg_url, bid)
        finally:
            if first.returncode is None:
                await kill(first)
            if second is not None:
                await stop(second)
        got = received(server)
    check(counts, got)
