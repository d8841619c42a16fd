"""Patients due at 21:00 (the nightly reminders' own dispatch, claims in the store) against
the fake server enforcing Telegram's 30 messages/s, while other patients ask questions.

    .venv/bin/python bench/bench_bulk.py [--patients 10000] [--ask-every 0.5] [--plain]

Figures: the sustained bulk rate, duplicates and losses, 429s after the first second, and the
time from a question's arrival to its first reply message (p50, p95). The server runs in a
child process; the bot is the real Application with its sender.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert  # noqa: E402

from bench.bench_reminders import regimen_rows  # noqa: E402
from bench.remote_server import RemoteServer  # noqa: E402
from bot.dispatch import dispatch  # noqa: E402
from bot.sender import Delivery, Lane, Sender  # noqa: E402
from store import Store  # noqa: E402
from store.models import RegimenRow  # noqa: E402
from tests.botharness import TOKEN, make_config, running_bot  # noqa: E402
from tests.fakebotapi import factories  # noqa: E402

BulkSource = Callable[[Sender, list[int]], Awaitable[Counter[Delivery]]]
FIRST = 1_000_000


async def plain_bulk(sender: Sender, chats: list[int], workers: int = 16) -> Counter[Delivery]:
    """Each chat one bulk message, ``workers`` sends in flight (as the reminder dispatch)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for chat in chats:
        queue.put_nowait(chat)
    outcomes: Counter[Delivery] = Counter()

    async def work() -> None:
        while not queue.empty():
            chat = queue.get_nowait()
            result = await sender.send_message(chat, "Time for your LDN: 4.5 mg", lane=Lane.BULK)
            outcomes[result.delivery] += 1

    await asyncio.gather(*(work() for _ in range(workers)))
    return outcomes


WHEN = datetime(2031, 12, 1, 21, 0, tzinfo=UTC)  # no tick on the real clock sees these


def fill_due_regimens(db: Path, chats: list[int]) -> None:
    """Regimens for ``chats``, every one due at WHEN (21:00 UTC)."""
    rows = regimen_rows(len(chats), WHEN - timedelta(hours=6), first_chat=chats[0])
    for row in rows:
        row.update(timezone="UTC", remind_at="21:00", next_evening=WHEN.date(), next_due_at=WHEN)
    Store.open(f"sqlite:///{db}").close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(insert(RegimenRow), rows)
    engine.dispose()


async def main_async(
    patients: int,
    ask_every: float,
    source: BulkSource | None,
    limit: int = 30,
    pace: bool = True,
) -> None:
    """``source`` None: the nightly reminders' own dispatch (claims in the store)."""
    chats = list(range(FIRST, FIRST + patients))
    with tempfile.TemporaryDirectory() as tmp, RemoteServer(TOKEN) as server:
        if source is None:
            fill_due_regimens(Path(tmp) / "bench.sqlite3", chats)
        limits = {"per_second": limit, "per_chat_per_second": 1.0} if limit else None
        await asyncio.to_thread(server.call, "configure", limits, 0.05)
        config = make_config(server, Path(tmp) / "bench.sqlite3", rate_limit=pace)  # type: ignore[arg-type]
        async with running_bot(server, config) as bot:  # type: ignore[arg-type]
            services = bot.app.bot_data.services
            assert services is not None
            services.sender.pacer._sleep = asyncio.sleep  # type: ignore[union-attr]
            sender = services.require_sender()
            mark = await asyncio.to_thread(server.call, "mark")
            asked: dict[int, float] = {}
            started = time.monotonic()
            if source is None:

                async def reminders(_sender: Sender, _chats: list[int]) -> Counter[Delivery]:
                    report = await dispatch(services, WHEN)  # type: ignore[arg-type]
                    return Counter({Delivery(k): v for k, v in report.deliveries.items()})

                bulk = asyncio.create_task(reminders(sender, chats))
            else:
                bulk = asyncio.create_task(source(sender, chats))
            user = 0
            while not bulk.done():
                user += 1
                asked[2_000_000 + user] = time.monotonic()  # system-wide, as the server's
                await asyncio.to_thread(
                    server.call,
                    "push",
                    [factories.private_message("what is ldn", user_id=2_000_000 + user)],
                )
                await asyncio.sleep(ask_every)
            outcomes = bulk.result()
            elapsed = time.monotonic() - started
            await asyncio.sleep(2)
            calls = await asyncio.to_thread(server.call, "calls", mark)
    every = [c for c in calls if c[0].startswith("sendMessage")]
    # Reminders and replies; a symptom check-in comes silently under its reminder.
    sends = [c for c in every if c[0] == "sendMessage"]
    checkins = sum(1 for c in every if c[0] == "sendMessage:silent" and c[2] == 200)
    wanted = set(chats)
    bulk_ok = Counter(chat for _, chat, status, _ in sends if status == 200 and chat in wanted)
    refused = [arrived for _, _, status, arrived in every if status == 429]
    first_arrival = min(arrived for *_, arrived in every)
    late_429 = sum(1 for t in refused if t - first_arrival > 1.0)
    waits = []
    for chat, at in asked.items():
        replies = [arrived for _, c, status, arrived in sends if c == chat and status == 200]
        if replies:
            waits.append(min(replies) - at)
    waits.sort()
    print(f"bulk: {patients} patients in {elapsed:.1f} s = {patients / elapsed:.1f} messages/s")
    once = sum(1 for c in chats if bulk_ok[c] == 1)
    twice = sum(1 for c in chats if bulk_ok[c] > 1)
    lost = sum(1 for c in chats if not bulk_ok[c])
    print(f"  delivered {once}, duplicated {twice}, lost {lost}; outcomes {dict(outcomes)}")
    print(f"  symptom check-ins sent after their reminders: {checkins}")
    print(f"  429s: {len(refused)} in all, {late_429} after the first second")
    accepted = sorted(arrived for _, _, status, arrived in every if status == 200)
    last_bulk = max(arrived for _, c, status, arrived in sends if status == 200 and c in wanted)
    during = [t for t in accepted if t <= last_bulk]
    span = during[-1] - during[0]
    print(f"  every message while it ran: {len(during)} in {span:.1f} s "
          f"= {(len(during) - 1) / span:.1f} messages/s")  # fmt: skip
    if waits:
        p95 = waits[int(0.95 * (len(waits) - 1))]
        print(f"questions during it: {len(waits)} answered of {len(asked)}; first reply "
              f"p50 {statistics.median(waits):.2f} s, p95 {p95:.2f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--ask-every", type=float, default=0.5)
    parser.add_argument("--server-limit", type=int, default=30, help="0: the server has none")
    parser.add_argument("--no-pace", action="store_true", help="the sender does not pace")
    parser.add_argument(
        "--plain", action="store_true", help="16 sends in flight instead of the reminders' dispatch"
    )
    args = parser.parse_args()
    source = plain_bulk if args.plain else None
    asyncio.run(
        main_async(args.patients, args.ask_every, source, args.server_limit, not args.no_pace)
    )


if __name__ == "__main__":
    main()
