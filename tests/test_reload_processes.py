"""Reloading a running bot from outside it: `ldn-bot reload` in a second process (through the
store), and SIGHUP. The bot is `ldn-bot run` as a child process against the fake Bot API server;
what it answers a patient shows which knowledge base is in service."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from store import Store
from tests.fakebotapi import FakeBotApi, factories
from tests.procharness import ROOT, TOKEN, start_bot, write_config

pytestmark = pytest.mark.e2e

PATIENT = 4321
QUESTION = "what is ldn"
ORIGINAL = "LDN stands for low dose naltrexone."


async def ask(server: FakeBotApi, text: str) -> str:
    mark = server.mark()
    server.push_update(factories.private_message(text, user_id=PATIENT))
    call = await server.wait_for(
        "sendMessage", lambda c: c.params.get("chat_id") == PATIENT, since=mark, timeout=30
    )
    return str(call.params["text"])


async def cli_reload(config: Path) -> tuple[int, str, str]:
    """`ldn-bot reload` as its own process, as an admin runs it on the server."""
    env = {k: v for k, v in os.environ.items() if k != "LDN_BOT_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "reload", "--config", str(config), "--wait", "40",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def wait_for_audit(server: FakeBotApi, config: Path, action: str, count: int) -> None:
    """The bot applies a signal between two updates: look in the store after each of the
    bot's calls (it long-polls, so one comes at least every second) until it has audited it."""
    url = load_config(config).storage.url
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        with Store.open(url) as store:
            if len(store.audit_entries(action=action)) >= count:
                return
        await server.wait_for_any_call(min(1.0, deadline - loop.time()))
    raise AssertionError(f"no {action!r} audit entry")


async def test_cli_reload_and_sighup_reach_the_running_bot(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge" / "data", kb)
    plans = tmp_path / "plans.yaml"
    shutil.copy(ROOT / "reminders" / "data" / "plans.yaml", plans)
    entries = kb / "entries.yaml"
    good = entries.read_text(encoding="utf-8")
    assert ORIGINAL in good
    async with FakeBotApi(token=TOKEN) as server:
        config = write_config(
            tmp_path,
            server,
            extra=("[knowledge]", f'path = "{kb}"', "[reminders]", f'plans = "{plans}"'),
        )
        process = await start_bot(config)
        try:
            await server.wait_for("getUpdates", timeout=60)
            assert ORIGINAL in await ask(server, QUESTION)
            # An edit, then `ldn-bot reload` from a second process: through the store.
            first = good.replace(ORIGINAL, "LDN stands for low dose naltrexone (edit one).")
            entries.write_text(first, encoding="utf-8")
            code, out, err = await cli_reload(config)
            assert code == 0 and "reloaded:" in out, err
            assert "(edit one)" in await ask(server, QUESTION)
            # A broken file by SIGHUP: rejected, and the edit in service stays.
            entries.write_text(good.replace("sources: [", "sources: [smith-2099, ", 1))
            process.send_signal(signal.SIGHUP)
            await wait_for_audit(server, config, "reload-failed", 1)
            assert "(edit one)" in await ask(server, QUESTION)
            # A good one by SIGHUP: in service at once.
            entries.write_text(good.replace(ORIGINAL, "LDN means low dose naltrexone (two)."))
            process.send_signal(signal.SIGHUP)
            await wait_for_audit(server, config, "reload", 2)
            assert "(two)" in await ask(server, QUESTION)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        server.assert_no_violations()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "smith-2099" in log and "entries.yaml" in log  # the rejection, with file and field
    with Store.open(load_config(config).storage.url) as store:
        (failed,) = store.audit_entries(action="reload-failed")
        assert failed.actor == "sighup" and "smith-2099" in (failed.detail or "")
        assert [e.actor for e in store.audit_entries(action="reload")] == ["cli", "sighup"]
