"""Throughput measured from outside: each bot runs as its own process (`ldn-bot run` with the
shipped logging, and a bare PTB echo bot), the fake Bot API server in another, and this
harness queues 600 questions from 50 users at once and times until every reply is sent.

    .venv/bin/python bench/bench_outside.py [--repeats 3] [--log-level INFO]

This is how an outsider measures; bench/bench_bot.py runs the bot inside its own process
with rounds of one message per user, which is kinder to it (see the closing notes).

Three bots take turns in each run: the bare echo bot the issue names (it replies with the
question's few bytes), the same echo bot replying with an answer-sized HTML message and a
keyboard (what the LDN bot sends), and the LDN bot. Each line also gives the CPU time the bot's
process and the fake server's process spent per reply: on a 2-core machine the server's share
is part of what a bot's rate measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


KINDS = ("echo", "echo-sized", "ldn")


async def run_once(
    kind: str, questions: list[str], users: int, per_user: int, level: str
) -> tuple[float, float, float]:
    """Replies per second, then the bot's and the server's CPU milliseconds per reply."""
    with tempfile.TemporaryDirectory() as tmp_dir, RemoteServer(TOKEN) as server:
        tmp = Path(tmp_dir)
        if kind.startswith("echo"):
            argv = [
                str(ROOT / "bench" / "echo_bot.py"),
                TOKEN,
                server.base_url,
                server.base_file_url,
            ]
            if kind == "echo-sized":
                argv.append("--answer-sized")
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
            server_pid = server.pid
            cpu = cpu_seconds(process.pid), cpu_seconds(server_pid)
            start = time.perf_counter()
            await asyncio.to_thread(server.call, "push", updates)
            await asyncio.to_thread(server.call, "wait", "sendMessage", len(updates), mark)
            rate = len(updates) / (time.perf_counter() - start)
            bot_ms = (cpu_seconds(process.pid) - cpu[0]) * 1000 / len(updates)
            server_ms = (cpu_seconds(server_pid) - cpu[1]) * 1000 / len(updates)
            return rate, bot_ms, server_ms
        finally:
            process.terminate()
            await process.wait()


async def main_async(repeats: int, level: str) -> None:
    questions = [c.q for c in load_cases(split_files()["tuning"]) if c.expect != "safety"]
    rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    ratios: dict[str, list[float]] = {"echo": [], "echo-sized": []}
    for _ in range(repeats):
        run = {kind: await run_once(kind, questions, 50, 12, level) for kind in KINDS}
        for kind, (rate, bot_ms, server_ms) in run.items():
            rates[kind].append(rate)
            cpu[kind].append((bot_ms, server_ms))
        for against in ratios:
            ratios[against].append(run["ldn"][0] / run[against][0])
    for kind, measured in rates.items():
        per_reply = ", ".join(f"{b:.2f}/{s:.2f}" for b, s in cpu[kind])
        print(
            f"{kind:10} median {statistics.median(measured):6.1f} replies/s  "
            f"({', '.join(f'{r:.1f}' for r in measured)}); CPU ms per reply, bot/server: "
            f"{per_reply}"
        )
    for against, measured in ratios.items():
        print(
            f"LDN bot / {against} bot, log level {level}: "
            + ", ".join(f"{r:.2f}x" for r in measured)
            + f"; median {statistics.median(measured):.2f}x"
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
