"""The sender's lean sendMessage (bot/botapi.py over bot/wire.py) answers every failure exactly
as PTB's ``Bot.send_message`` does: the same error class, message and cause, so the sender's
retry rules see one code path. Checked side by side against the fake Bot API server, and
against a bare socket server for what the fake cannot do (no answer, a dropped connection,
chunked answers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.botapi import BotApi
from bot.sender import classify, retry_after_seconds
from bot.wire import HttpxWire, StreamWire, Timeouts
from tests.fakebotapi import FakeBotApi

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST-token-that-must-never-be-logged"
CHAT = 4242
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Browse topics", callback_data="t:")]])


def ptb_bot(base_url: str, read_timeout: float = 5.0) -> Bot:
    return Bot(
        TOKEN,
        base_url=base_url,
        request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=1.0),
    )


async def outcome(send: Callable[[], Awaitable[Any]]) -> TelegramError:
    with pytest.raises(TelegramError) as caught:
        await send()
    return caught.value


def same_failure(ours: TelegramError, ptb: TelegramError, *, same_text: bool = True) -> None:
    assert type(ours) is type(ptb)
    assert ours.message == ptb.message or not same_text
    assert type(ours.__cause__) is type(ptb.__cause__)
    assert classify(ours) is classify(ptb)


@pytest.mark.parametrize(
    "fault",
    [
        {"error_code": 429, "retry_after": 3},
        {"error_code": 403, "description": "Forbidden: bot was blocked by the user"},
        {"error_code": 400, "description": "Bad Request: chat not found"},
        {"error_code": 400, "description": "Bad Request: can't parse entities"},
        {"error_code": 400, "migrate_to_chat_id": -100123},
        {"error_code": 502},
        {"error_code": 500, "description": "Internal Server Error"},
        {"error_code": 401},
    ],
    ids=["429", "403", "chat-not-found", "400", "migrated", "502", "500", "401"],
)
async def test_telegram_errors_are_raised_as_ptb_raises_them(fault: dict[str, Any]) -> None:
    async with FakeBotApi(token=TOKEN) as server:
        bot = ptb_bot(server.base_url)
        async with bot:
            api = BotApi(bot, connections=2)
            try:
                server.fail_next("sendMessage", **fault)
                ptb = await outcome(lambda: bot.send_message(CHAT, "<b>hi</b>", parse_mode="HTML"))
                server.fail_next("sendMessage", **fault)
                ours = await outcome(lambda: api.send_message(CHAT, "<b>hi</b>", parse_mode="HTML"))
            finally:
                await api.aclose()
        same_failure(ours, ptb)
        if fault["error_code"] == 429:
            assert retry_after_seconds(ours) == retry_after_seconds(ptb) == 3  # type: ignore[arg-type]
        server.assert_no_violations()


async def test_a_sent_message_is_a_valid_call_and_comes_back_as_a_message() -> None:
    async with FakeBotApi(token=TOKEN) as server:
        bot = ptb_bot(server.base_url)
        async with bot:
            api = BotApi(bot, connections=2)
            try:
                text = "<b>Sleep</b>\n\nVivid dreams are common ✨ (see <a href='https://x.org'>this</a>)"
                messages = [
                    await api.send_message(CHAT, text, parse_mode="HTML", reply_markup=KEYBOARD)
                    for _ in range(3)
                ]
            finally:
                await api.aclose()
        calls = server.calls_to("sendMessage")
        assert [c.status for c in calls] == [200, 200, 200]
        assert calls[0].params["reply_markup"] == KEYBOARD.to_dict()
        stored = server.bot_messages(CHAT)
        assert [m.message_id for m in messages] == [m["message_id"] for m in stored]
        assert messages[0].chat.id == CHAT and messages[0].text == stored[0]["text"]
        assert messages[0].get_bot() is bot
        server.assert_no_violations()


@asynccontextmanager
async def socket_server(
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[tuple[str, list[int]]]:
    """A bare HTTP server on loopback; yields its Bot API base URL and a connection count."""
    connections = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            # PTB's Bot asks getMe when it starts: answered, then the call under test.
            while (await read_request(reader)).endswith(b"/getMe"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ME), ME))
            await answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot", connections
    finally:
        server.close()
        await server.wait_closed()


ME = b'{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"T","username":"t_bot"}}'
BODY = (
    b'{"ok":true,"result":{"message_id":7,"date":1700000000,'
    b'"chat":{"id":4242,"type":"private"},"text":"hi"}}'
)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """Reads one request; returns its path."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    size = [int(line[15:]) for line in lines if line.lower().startswith(b"content-length:")]
    await reader.readexactly(sum(size))
    return lines[0].split(b" ")[1]


async def side_by_side(
    base_url: str, read_timeout: float = 5.0
) -> tuple[TelegramError, TelegramError]:
    bot = ptb_bot(base_url, read_timeout)
    async with bot:
        ptb = await outcome(lambda: bot.send_message(CHAT, "hi"))
        api = BotApi(bot, connections=1, timeouts=Timeouts(read=read_timeout, connect=1.0))
        try:
            ours = await outcome(lambda: api.send_message(CHAT, "hi"))
        finally:
            await api.aclose()
    return ours, ptb


async def test_no_answer_within_the_read_timeout_is_a_lost_answer_as_with_ptb() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; waits for the client to give up

    async with socket_server(silent) as (url, _):
        ours, ptb = await side_by_side(url, read_timeout=0.05)
    same_failure(ours, ptb)
    assert isinstance(ours.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize("partial", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"])
async def test_a_connection_dropped_before_the_answer_ends_is_a_lost_answer(partial: bytes) -> None:
    async def drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(partial)
        await writer.drain()

    async with socket_server(drops) as (url, _):
        ours, ptb = await side_by_side(url)
    assert type(ours) is type(ptb)
    assert type(ours.__cause__) is type(ptb.__cause__) is httpx.RemoteProtocolError
    assert classify(ours) is classify(ptb)


async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def test_a_refused_connection_never_left_as_with_ptb() -> None:
    async with socket_server(drop) as (url, _):
        pass  # closed: nothing listens on its port any more
    bot = ptb_bot(url)  # not started: starting asks getMe, and nothing would answer
    api = BotApi(bot, connections=1, timeouts=Timeouts(connect=1.0))
    try:
        ptb = await outcome(lambda: bot.send_message(CHAT, "hi"))
        ours = await outcome(lambda: api.send_message(CHAT, "hi"))
    finally:
        await api.aclose()
        await bot.shutdown()
    same_failure(ours, ptb, same_text=False)  # each names the socket error its own way
    assert isinstance(ours.__cause__, httpx.ConnectError)


async def test_chunked_and_closing_answers_are_read_and_connections_kept_alive() -> None:
    body = BODY

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The first request (read already): chunked, the connection kept.
        half = len(body) // 2
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(
            b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (half, body[:half], len(body) - half, body[half:])
        )
        await read_request(reader)  # the second, on the same connection: then closed
        writer.write(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        await writer.drain()

    async with socket_server(answers) as (url, connections):
        wire = StreamWire(url, connections=2, timeouts=Timeouts())
        try:
            for _ in range(3):
                status, content = await wire.post("sendMessage", b"{}")
                assert (status, content) == (200, body)
        finally:
            await wire.aclose()
    assert connections[0] == 2  # the third request needed a new connection


async def test_a_full_pool_is_a_pool_timeout_that_never_left() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async with socket_server(silent) as (url, _):
        wire = StreamWire(url, connections=1, timeouts=Timeouts(read=1.0, pool=0.01))
        try:
            first = asyncio.ensure_future(wire.post("sendMessage", b"{}"))
            await asyncio.sleep(0)
            with pytest.raises(httpx.PoolTimeout):
                await wire.post("sendMessage", b"{}")
            first.cancel()
        finally:
            await wire.aclose()


def test_a_proxy_in_the_environment_gets_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.wire import open_wire

    url = "https://api.telegram.org/bot" + TOKEN
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert isinstance(open_wire(url, connections=1, timeouts=Timeouts()), HttpxWire)
    monkeypatch.delenv("HTTPS_PROXY")
    for name in ("https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(open_wire(url, connections=1, timeouts=Timeouts()), StreamWire)


async def test_behind_a_proxy_httpx_carries_the_same_calls_and_errors() -> None:
    async with FakeBotApi(token=TOKEN) as server:
        bot = ptb_bot(server.base_url)
        async with bot:
            wire = HttpxWire(bot.base_url, connections=2, timeouts=Timeouts())
            api = BotApi(bot, connections=2, wire=wire)
            try:
                sent = await api.send_message(CHAT, "hi", reply_markup=KEYBOARD)
                server.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
                ours = await outcome(lambda: api.send_message(CHAT, "hi"))
                server.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
                ptb = await outcome(lambda: bot.send_message(CHAT, "hi"))
            finally:
                await api.aclose()
        assert sent.message_id == server.bot_messages(CHAT)[0]["message_id"]
        same_failure(ours, ptb)
        server.assert_no_violations()
