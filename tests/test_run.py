"""`ldn-bot run` as a real process against the fake Bot API server: start-up checks, polling,
and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.fakebotapi import FakeBotApi, factories
from tests.procharness import start_bot

pytestmark = pytest.mark.e2e

TOKEN = "4242:RUN-test-token"
ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, base_url: str, base_file_url: str, token: str | None) -> Path:
    lines = ["[telegram]", f'base_url = "{base_url}"', f'base_file_url = "{base_file_url}"']
    lines += ["poll_timeout = 1", "connect_timeout = 2", "rate_limit = false"]
    if token:
        lines.append(f'token = "{token}"')
    lines += ["[storage]", f'url = "sqlite:///{tmp_path / "run.sqlite3"}"']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def start(config: Path) -> asyncio.subprocess.Process:
    return await start_bot(config, stdout=asyncio.subprocess.PIPE)


async def test_runs_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        config = write_config(tmp_path, server.base_url, server.base_file_url, TOKEN)
        process = await start(config)
        try:
            await server.wait_for("getUpdates", timeout=60)
            server.push_update(factories.command("/start", user_id=77))
            welcome = await server.wait_for("sendMessage", timeout=30)
            assert "LDN" in welcome.params["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        server.assert_no_violations()
    assert process.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert TOKEN.split(":")[1] not in stderr.decode()


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, "no bot token"),
        ("9999:WRONG", "rejected the token"),
    ],
)
async def test_bad_token_is_one_line_and_exit_2(
    tmp_path: Path, token: str | None, expected: str
) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        config = write_config(tmp_path, server.base_url, server.base_file_url, token)
        process = await start(config)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("ldn-bot:") and expected in lines[0]


async def test_unreachable_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A port that was just free: nothing listens there.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, f"{url}/bot", f"{url}/file/bot", TOKEN)
    process = await start(config)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and "cannot reach the Bot API server" in lines[0]
