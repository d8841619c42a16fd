"""A broadcast to many patients (the real outbox: launch, claims, results in the store) against
the fake server enforcing Telegram's 30 messages/s, while other patients ask questions.

    .venv/bin/python bench/bench_broadcast.py [--patients 10000] [--ask-every 0.5]

Figures: the sustained broadcast rate, duplicates and losses, 429s, the outbox's final counts,
peak memory of the bot's process, and the time from a question's arrival to its first reply
message (p50, p95). The server runs in a child process; the bot is the real Application with
its sender and its broadcast round (bot/broadcasts.py), called as the JobQueue tick calls it.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert  # noqa: E402

from bench.remote_server import RemoteServer  # noqa: E402
from bot.broadcasts import send_broadcasts  # noqa: E402
from store import Store  # noqa: E402
from store.models import Chat  # noqa: E402
from tests.botharness import TOKEN, make_config, running_bot  # noqa: E402
from tests.fakebotapi import factories  # noqa: E402

FIRST = 1_000_000
STAFF = 900
NOW = datetime.now(UTC)


def fill(db: Path, chats: list[int]) -> int:
    """Started private chats for ``chats`` and a broadcast to all of them, launched."""
    Store.open(f"sqlite:///{db}").close()
    engine = create_engine(f"sqlite:///{db}")
    rows = [
        {
            "chat_id": c,
            "kind": "private",
            "first_seen": NOW,
            "last_seen": NOW,
            "started": True,
        }
        for c in chats
    ]
    with engine.begin() as conn:
        conn.execute(insert(Chat), rows)
    engine.dispose()
    with Store.open(f"sqlite:///{db}") as store:
        draft = store.new_broadcast_draft(STAFF, NOW)
        store.update_draft(
            draft.id,
            text="The clinic is closed on Monday 7 December.",
            audience="all",
            stage="preview",
        )
        assert store.launch_broadcast(draft.id, NOW) == len(chats)
        return draft.id


async def main_async(patients: int, ask_every: float, limit: int) -> None:
    chats = list(range(FIRST, FIRST + patients))
    with tempfile.TemporaryDirectory() as tmp, RemoteServer(TOKEN) as server:
        db = Path(tmp) / "bench.sqlite3"
        bid = fill(db, chats)
        limits = {"per_second": limit, "per_chat_per_second": 1.0} if limit else None
        await asyncio.to_thread(server.call, "configure", limits, 0.05)
        config = make_config(server, db, rate_limit=True)  # type: ignore[arg-type]
        async with running_bot(server, config) as bot:  # type: ignore[arg-type]
            services = bot.app.bot_data.services
            assert services is not None and bot.app.job_queue is not None
            for job in bot.app.job_queue.get_jobs_by_name("broadcasts"):
                job.schedule_removal()  # the bench runs the round itself
            services.sender.pacer._sleep = asyncio.sleep  # type: ignore[union-attr]
            services.sleep = asyncio.sleep
            mark = await asyncio.to_thread(server.call, "mark")
            asked: dict[int, float] = {}
            started = time.monotonic()
            sending = asyncio.create_task(send_broadcasts(services, NOW))
            user = 0
            while not sending.done():
                user += 1
                asked[2_000_000 + user] = time.monotonic()  # system-wide, as the server's
                await asyncio.to_thread(
                    server.call,
                    "push",
                    [factories.private_message("what is ldn", user_id=2_000_000 + user)],
                )
                await asyncio.sleep(ask_every)
            report = sending.result()
            elapsed = time.monotonic() - started
            await asyncio.sleep(2)
            calls = await asyncio.to_thread(server.call, "calls", mark)
            counts = bot.store.outbox_counts(bid)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sends = [c for c in calls if c[0] == "sendMessage"]
    wanted = set(chats)
    got = Counter(chat for _, chat, status, _ in sends if status == 200 and chat in wanted)
    refused = [arrived for _, _, status, arrived in sends if status == 429]
    waits = []
    for chat, at in asked.items():
        replies = [arrived for _, c, status, arrived in sends if c == chat and status == 200]
        if replies:
            waits.append(min(replies) - at)
    waits.sort()
    bulk = sorted(arrived for _, c, status, arrived in sends if status == 200 and c in wanted)
    span = bulk[-1] - bulk[0]
    print(
        f"broadcast: {patients} patients in {elapsed:.1f} s; sustained "
        f"{(len(bulk) - 1) / span:.1f} messages/s (first to last arrival)"
    )
    accepted = sorted(arrived for _, _, status, arrived in sends if status == 200)
    during = [t for t in accepted if bulk[0] <= t <= bulk[-1]]
    print(
        f"  all messages (broadcast and replies) while it ran: {len(during)} in "
        f"{during[-1] - during[0]:.1f} s = {(len(during) - 1) / (during[-1] - during[0]):.1f} "
        "messages/s"
    )
    once = sum(1 for c in chats if got[c] == 1)
    twice = sum(1 for c in chats if got[c] > 1)
    lost = sum(1 for c in chats if not got[c])
    print(
        f"  delivered {once}, duplicated {twice}, lost {lost}; outbox {counts}; "
        f"round {report.deliveries}"
    )
    print(f"  429s: {len(refused)}; peak memory of the bot's process {peak_mb:.0f} MB")
    if waits:
        p95 = waits[int(0.95 * (len(waits) - 1))]
        print(
            f"questions during it: {len(waits)} answered of {len(asked)}; first reply "
            f"p50 {statistics.median(waits):.2f} s, p95 {p95:.2f} s, max {waits[-1]:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--ask-every", type=float, default=0.5)
    parser.add_argument("--server-limit", type=int, default=30, help="0: the server has none")
    args = parser.parse_args()
    asyncio.run(main_async(args.patients, args.ask_every, args.server_limit))


if __name__ == "__main__":
    main()
