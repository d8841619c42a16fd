"""Nightly reminders at scale: 100,000 patients with regimens.

    python bench/bench_reminders.py [--patients 100000] [--hours 24] [--send 2000] [--url URL]

1. start-up to polling of `ldn-bot run` on a database holding the regimens, and its resident
   memory (now, and at its peak after the first reminder tick);
2. the cost of each tick's "what is due" (create due evenings, close missed ones, claim):
   a simulated day of ticks every 45 s, each claimed reminder recorded as sent;
3. CPU per reminder sent through the real Application against the fake Bot API server (in a
   child process, with no rate limit).

Reminder times are spread over 20:00-23:55 in six time zones; start dates over 60 days.
The default database is a SQLite file; `--url postgresql+psycopg://...` measures (2) on
PostgreSQL instead (in a fresh schema, dropped afterwards). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench.remote_server import RemoteServer  # noqa: E402
from bot.dispatch import dispatch  # noqa: E402
from reminders import Regimen, load_plans  # noqa: E402
from store import Store  # noqa: E402
from store.engine import normalize_url  # noqa: E402
from store.models import RegimenRow  # noqa: E402
from store.reminders import SendRecord  # noqa: E402
from tests.botharness import TOKEN, make_config, running_bot  # noqa: E402

ZONES = (
    "Europe/London",
    "America/New_York",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Kolkata",
)
GRACE = timedelta(hours=2)
TICK = timedelta(seconds=45)


def regimen_rows(count: int, now: datetime, first_chat: int = 1) -> list[dict[str, Any]]:
    book = load_plans()
    plans = [book.plans[name] for name in book.names()]
    rows = []
    for i in range(count):
        zone = ZONES[i % len(ZONES)]
        minutes = 20 * 60 + (i % 48) * 5
        at = clock_time(minutes // 60, minutes % 60)
        start = (now - timedelta(days=i % 60)).date()
        regimen = Regimen.from_plan(plans[i % len(plans)], start, at, zone)
        following = regimen.first_evening(now)
        rows.append(
            {
                "chat_id": first_chat + i,
                "plan_name": regimen.plan_name,
                "plan_title": regimen.plan_title,
                "steps": regimen.steps_json(),
                "max_mg": "4.5",
                "start_date": start,
                "remind_at": f"{at:%H:%M}",
                "timezone": zone,
                "holds": "[]",
                "state": "active",
                "paused_until": None,
                "next_evening": following,
                "next_due_at": regimen.due_at(following),
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def fill(url: str, count: int, now: datetime, first_chat: int = 1) -> float:
    """Insert `count` regimens straight into the table; returns seconds."""
    started = time.perf_counter()
    Store.open(url).close()  # migrate
    rows = regimen_rows(count, now, first_chat)
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for chunk in range(0, len(rows), 5000):
            conn.execute(insert(RegimenRow), rows[chunk : chunk + 5000])
    engine.dispose()
    return time.perf_counter() - started


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def startup(db: Path, tmp: Path) -> None:
    with RemoteServer(TOKEN) as server:
        config = tmp / "bench.toml"
        config.write_text(
            f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{server.base_url}"\n'
            f'base_file_url = "{server.base_file_url}"\npoll_timeout = 1\nrate_limit = false\n'
            f'[storage]\nurl = "sqlite:///{db}"\n[logging]\nlevel = "WARNING"\n',
            encoding="utf-8",
        )
        mark = server.call("mark")
        started = time.perf_counter()
        process = __import__("subprocess").Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)], cwd=ROOT
        )
        try:
            server.call("wait", "getUpdates", 1, mark)
            ready = time.perf_counter() - started
            polling_rss, _ = rss_kib(process.pid)
            time.sleep(8)  # the first reminder tick runs 2 s after start
            rss, peak = rss_kib(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    print(f"start-up to polling: {ready:.2f} s (target < 10 s)")
    print(
        f"resident memory: {polling_rss / 1024:.0f} MB when polling, {rss / 1024:.0f} MB after "
        f"the first tick, peak {peak / 1024:.0f} MB (target < 300 MB)"
    )


def simulate_day(url: str, start: datetime, hours: float) -> None:
    store = Store.open(url)
    idle: list[float] = []
    busy: list[tuple[float, int]] = []
    record_times: list[float] = []
    now = start
    end = start + timedelta(hours=hours)
    total = 0
    try:
        while now < end:
            t0 = time.perf_counter()
            store.materialise_due(now, GRACE)
            store.close_missed(now)
            claimed = store.claim_reminders(now, GRACE, limit=100_000)
            elapsed = time.perf_counter() - t0
            if claimed:
                busy.append((elapsed, len(claimed)))
                t1 = time.perf_counter()
                for chunk in range(0, len(claimed), 50):  # as the dispatch's writer batches
                    store.record_reminders(
                        [SendRecord(e.id, "sent", 1) for e in claimed[chunk : chunk + 50]],
                        now,
                        nudge_at=now + timedelta(hours=1),
                    )
                record_times.append((time.perf_counter() - t1) / len(claimed))
                total += len(claimed)
            else:
                idle.append(elapsed)
            now += TICK
        due_rows = store.count_due_regimens(now)
    finally:
        store.close()
    print(f"simulated {hours:g} h of ticks every 45 s on {store.backend}: {total} reminders")
    if idle:
        idle.sort()
        print(
            f"  tick with nothing due: median {statistics.median(idle) * 1000:.2f} ms, "
            f"p99 {idle[int(len(idle) * 0.99)] * 1000:.2f} ms ({len(idle)} ticks)"
        )
    if busy:
        costs = sorted(b[0] for b in busy)
        sizes = [b[1] for b in busy]
        per = sorted(b[0] / b[1] for b in busy)
        print(
            f"  tick with reminders due: median {statistics.median(costs) * 1000:.0f} ms, "
            f"max {costs[-1] * 1000:.0f} ms for median {statistics.median(sizes):.0f} "
            f"(max {max(sizes)}) reminders; {statistics.median(per) * 1e6:.0f} µs per reminder "
            "to create and claim; recording each as sent (with its nudge row) "
            f"{statistics.median(record_times) * 1e6:.0f} µs"
        )
    print(f"  regimens still due after the last tick: {due_rows}")


async def cpu_per_reminder(count: int, tmp: Path) -> None:
    when = datetime(2031, 12, 1, 21, 0, tzinfo=UTC)  # no other tick (real clock) sees these
    db = tmp / "send.sqlite3"
    rows = regimen_rows(count, when - timedelta(hours=6))
    for row in rows:  # every one due at 21:00 UTC
        row.update(timezone="UTC", remind_at="21:00", next_evening=when.date(), next_due_at=when)
    Store.open(f"sqlite:///{db}").close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(insert(RegimenRow), rows)
    engine.dispose()
    with RemoteServer(TOKEN) as server:
        config = make_config(server, db)  # type: ignore[arg-type]
        async with running_bot(server, config) as bot:  # type: ignore[arg-type]
            services = bot.app.bot_data.services
            assert services is not None
            services.clock = lambda: when - timedelta(days=1)
            await asyncio.sleep(3)  # let the scheduled first tick (2 s) pass: nothing is due yet
            services.clock = lambda: when
            wall, cpu = time.perf_counter(), time.process_time()
            report = await dispatch(services, when)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sent = report.sent
    print(
        f"CPU per reminder sent (fake server in its own process, no limit): "
        f"{cpu / max(sent, 1) * 1000:.2f} ms; {sent} sent in {wall:.1f} s "
        f"({sent / wall:.0f}/s), deliveries {report.deliveries}"
    )


def pg_schema_url(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    parsed = normalize_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False), schema


def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--send", type=int, default=2000)
    parser.add_argument("--url", default=None, help="PostgreSQL URL for the simulated day")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        now = datetime.now(UTC)
        db = tmp / "bench.sqlite3"
        seconds = fill(f"sqlite:///{db}", args.patients, now)
        print(f"{args.patients} regimens written in {seconds:.1f} s ({db.stat().st_size >> 20} MB)")
        startup(db, tmp)
        if args.url:
            url, schema = pg_schema_url(args.url)
            try:
                fill(url, args.patients, now)
                simulate_day(url, now + timedelta(minutes=1), args.hours)
            finally:
                drop_schema(args.url, schema)
        else:
            day_db = tmp / "day.sqlite3"
            shutil.copy(db, day_db)
            simulate_day(f"sqlite:///{day_db}", now + timedelta(minutes=1), args.hours)
        if args.send:
            asyncio.run(cpu_per_reminder(args.send, tmp))
    os.sync()


if __name__ == "__main__":
    main()
