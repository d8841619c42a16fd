"""Throughput measured from outside: each bot runs as its own process (`ldn-bot run` with the
shipped logging, and a bare PTB echo bot), the fake Bot API server in another, and this
harness queues 600 questions from 50 users at once and times until every reply is sent.

    .venv/bin/python bench/bench_outside.py [--repeats 3] [--log-level INFO]

This is how an outsider measures; bench/bench_bot.py runs the bot inside its own process
with rounds of one message per user, which is kinder to it (see the closing notes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.remote_server import RemoteServer  # noqa: E402
from tests.eval.evaluate import load_cases, split_files  # noqa: E402
from tests.fakebotapi import factories  # noqa: E402

TOKEN = "123456:BENCH-outside-token"
PROFILE = ""  # --profile FILE: the LDN bot's process runs under cProfile


def write_config(tmp: Path, server: RemoteServer, level: str) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        "\n".join(
            [
                "[telegram]",
                f'token = "{TOKEN}"',
                f'base_url = "{server.base_url}"',
                f'base_file_url = "{server.base_file_url}"',
                "poll_timeout = 1",
                "rate_limit = false",
                "[storage]",
                f'url = "sqlite:///{tmp / "bench.sqlite3"}"',
                "[logging]",
                f'level = "{level}"',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


async def run_once(kind: str, questions: list[str], users: int, per_user: int, level: str) -> float:
    with tempfile.TemporaryDirectory() as tmp_dir, RemoteServer(TOKEN) as server:
        tmp = Path(tmp_dir)
        if kind == "echo":
            argv = [
                str(ROOT / "bench" / "echo_bot.py"),
                TOKEN,
                server.base_url,
                server.base_file_url,
            ]
        else:
            argv = ["-m", "bot", "run", "--config", str(write_config(tmp, server, level))]
            if PROFILE:
                argv = ["-m", "cProfile", "-o", PROFILE, *argv]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            # Warm up: one question per user, answered, before the timed burst.
            mark = await asyncio.to_thread(server.call, "mark")
            warm = [factories.private_message("hello", user_id=50_000 + u) for u in range(users)]
            await asyncio.to_thread(server.call, "push", warm)
            await asyncio.to_thread(server.call, "wait", "sendMessage", users, mark)
            updates = [
                factories.private_message(
                    questions[(n * users + u) % len(questions)], user_id=50_000 + u
                )
                for n in range(per_user)
                for u in range(users)
            ]
            mark = await asyncio.to_thread(server.call, "mark")
            start = time.perf_counter()
            await asyncio.to_thread(server.call, "push", updates)
            await asyncio.to_thread(server.call, "wait", "sendMessage", len(updates), mark)
            return len(updates) / (time.perf_counter() - start)
        finally:
            process.terminate()
            await process.wait()


async def main_async(repeats: int, level: str) -> None:
    questions = [c.q for c in load_cases(split_files()["tuning"]) if c.expect != "safety"]
    rates: dict[str, list[float]] = {"echo": [], "ldn": []}
    ratios = []
    for _ in range(repeats):
        pair = {kind: await run_once(kind, questions, 50, 12, level) for kind in rates}
        for kind, rate in pair.items():
            rates[kind].append(rate)
        ratios.append(pair["ldn"] / pair["echo"])
    for kind, measured in rates.items():
        print(f"{kind:5} median {statistics.median(measured):6.1f} replies/s  ({measured})")
    print(
        f"LDN bot / echo bot, log level {level}: "
        + ", ".join(f"{r:.2f}x" for r in ratios)
        + f"; median {statistics.median(ratios):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--profile", default="", help="write the LDN bot's cProfile stats here")
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    asyncio.run(main_async(args.repeats, args.log_level))


if __name__ == "__main__":
    main()
