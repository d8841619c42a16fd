"""Throughput of the whole bot against the fake Bot API server, with a bare PTB echo bot as
the reference, in the same run.

    python bench/bench_bot.py [--users 50] [--rounds 10] [--repeats 5]

Each round queues one message from each of N users at once and times until every reply has
been sent. The unpaced bots are measured in turn, several times over, and the ratio is taken
between runs made side by side. The server runs in a child process (bench/remote_server.py):
a real Telegram server's work is not the bot's. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.remote_server import RemoteServer  # noqa: E402
from bot import render  # noqa: E402
from knowledge import Engine, load  # noqa: E402
from tests.botharness import TOKEN, make_config, running_bot  # noqa: E402
from tests.eval.evaluate import load_cases, split_files  # noqa: E402
from tests.fakebotapi import factories  # noqa: E402

Runner = Callable[[RemoteServer, Path], AbstractAsyncContextManager[object]]
EchoHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@asynccontextmanager
async def _bare_app(server: RemoteServer, handler: EchoHandler) -> AsyncIterator[object]:
    """A bare PTB Application (default settings) with one text handler, polling `server`."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, handler))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        yield app
        await app.updater.stop()
        await app.stop()


def echo_bot(server: RemoteServer, _: Path) -> AbstractAsyncContextManager[object]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    return _bare_app(server, echo)


def echo_bot_with_answer_sized_replies(
    server: RemoteServer, _: Path
) -> AbstractAsyncContextManager[object]:
    """The echo bot again, but replying with a rendered knowledge-base answer (HTML, sources,
    a keyboard): how much of the gap is the size of the reply rather than the bot's work."""
    reply = Engine(load()).answer_entry("sleep-problems")
    assert reply is not None
    html = render.reply_html(reply)[0]
    markup = render.browse_keyboard()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(html, reply_markup=markup)

    return _bare_app(server, echo)


def our_bot(rate_limit: bool) -> Runner:
    @asynccontextmanager
    async def run(server: RemoteServer, db: Path) -> AsyncIterator[object]:
        config = make_config(server, db, rate_limit=rate_limit)  # type: ignore[arg-type]
        async with running_bot(server, config) as bot:  # type: ignore[arg-type]
            yield bot

    return run


async def measure(runner: Runner, users: int, rounds: int, questions: list[str]) -> list[float]:
    rates = []
    with tempfile.TemporaryDirectory() as tmp, RemoteServer(TOKEN) as server:
        async with runner(server, Path(tmp) / "bench.sqlite3"):
            for round_no in range(rounds + 1):
                updates = [
                    factories.private_message(
                        questions[(round_no * users + user) % len(questions)],
                        user_id=10_000 + user,
                    )
                    for user in range(users)
                ]
                mark = await asyncio.to_thread(server.call, "mark")
                start = time.perf_counter()
                await asyncio.to_thread(server.call, "push", updates)
                await asyncio.to_thread(server.call, "wait", "sendMessage", users, mark)
                if round_no:  # round 0 warms up connections and caches
                    rates.append(users / (time.perf_counter() - start))
    return rates


async def main_async(users: int, rounds: int, repeats: int) -> None:
    questions = [c.q for c in load_cases(split_files()["tuning"]) if c.expect != "safety"]
    unpaced: dict[str, Runner] = {
        "bare PTB echo bot": echo_bot,
        "echo bot with answer-sized replies": echo_bot_with_answer_sized_replies,
        "LDN bot (rate limiter off)": our_bot(False),
    }
    # The machine's speed drifts over a run: measure the bots in turn, several times over, so
    # that the drift falls on each of them alike, and compare the runs made side by side.
    rates: dict[str, list[float]] = {name: [] for name in unpaced}
    ratios: list[float] = []
    for _ in range(repeats):
        medians = {}
        for name, runner in unpaced.items():
            measured = await measure(runner, users, rounds, questions)
            rates[name] += measured
            medians[name] = statistics.median(measured)
        ratios.append(medians["LDN bot (rate limiter off)"] / medians["bare PTB echo bot"])
    for name, measured in rates.items():
        print(
            f"{name:46} median {statistics.median(measured):7.1f} replies/s  "
            f"(min {min(measured):.1f}, max {max(measured):.1f}; "
            f"{repeats} x {rounds} rounds of {users} users)"
        )
    paced = await measure(our_bot(True), users, max(2, rounds // 5), questions)
    print(
        f"{'LDN bot (rate limiter on, Telegram limits)':46} median "
        f"{statistics.median(paced):7.1f} replies/s  ({len(paced)} rounds of {users} users)"
    )
    print(
        "LDN bot / echo bot (both unpaced), per side-by-side run: "
        + ", ".join(f"{r:.2f}x" for r in ratios)
        + f"; median {statistics.median(ratios):.2f}x"
    )
    sized = statistics.median(rates["LDN bot (rate limiter off)"]) / statistics.median(
        rates["echo bot with answer-sized replies"]
    )
    print(f"LDN bot / echo bot with answer-sized replies: {sized:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.rounds, args.repeats))


if __name__ == "__main__":
    main()
