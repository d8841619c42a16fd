"""Every 5th send answered with a 5xx: 400 answers (50 of them safety answers), how many lost.

The bot runs as a child process (`ldn-bot run`) against the fake Bot API server.

    .venv/bin/python bench/bench_faults.py
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakebotapi import FakeBotApi, factories
from tests.fakebotapi.faults import every_nth
from tests.procharness import TOKEN, answers_per_chat, start_bot, write_config

SAFETY = "i took my whole bottle of ldn tonight"
ORDINARY = ("what is ldn", "when should I take it", "does it cause vivid dreams", "is it addictive")


async def main(patients: int = 400, safety: int = 50) -> None:
    chats = list(range(800_000, 800_000 + patients))
    safe_chats = set(chats[:: patients // safety][:safety])
    async with FakeBotApi(token=TOKEN) as server:
        server.fault = every_nth(5, error_code=502)
        with tempfile.TemporaryDirectory() as tmp:
            process = await start_bot(write_config(Path(tmp), server))
            try:
                await server.wait_for("getUpdates", timeout=60)
                started = time.perf_counter()
                for i, chat in enumerate(chats):
                    text = SAFETY if chat in safe_chats else ORDINARY[i % len(ORDINARY)]
                    server.push_update(factories.private_message(text, user_id=chat))
                deadline = time.monotonic() + 300
                while len(answers_per_chat(server, chats)) < patients:
                    if time.monotonic() > deadline:
                        break
                    await server.wait_for_any_call(1.0)
                elapsed = time.perf_counter() - started
            finally:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        counts = answers_per_chat(server, chats)
        sends = server.calls_to("sendMessage")
        failed = sum(1 for c in sends if not c.ok)
        notices = sum(1 for c in sends if "something went wrong" in str(c.params.get("text")))
        lost = [chat for chat in chats if counts[chat] == 0]
    print(f"answers wanted {patients} (safety {safety}); sends refused with 502: {failed}")
    print(f"lost {len(lost)}, safety lost {sum(1 for c in lost if c in safe_chats)}, "
          f"'try again' notices {notices}, all answered in {elapsed:.1f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
