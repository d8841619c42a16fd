"""The fake Bot API server: it checks calls against Telegram's spec and behaves enough like
Telegram for python-telegram-bot's Application to run against it for real."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.fakebotapi import FakeBotApi, default_spec_path, factories, parse_html

CHAT = factories.DEFAULT_USER_ID


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token="123:ABC") as fake:
        yield fake


@pytest.fixture
def checked(server: FakeBotApi) -> FakeBotApi:
    """The server, for tests that need the spec (skipped, with the reason, without it)."""
    if server.skip_reason:
        pytest.skip(server.skip_reason)
    return server


@pytest.fixture
async def client(server: FakeBotApi) -> AsyncIterator[httpx.AsyncClient]:
    base = f"{server.base_url}{server.token}/"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield http


def keyboard(*buttons: dict[str, Any]) -> str:
    """An inline keyboard, JSON-encoded in a form field the way PTB sends it."""
    return json.dumps({"inline_keyboard": [list(buttons)]})


async def test_valid_send_message_passes(checked: FakeBotApi, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "sendMessage",
        data={
            "chat_id": str(CHAT),
            "text": "Hello <b>Alice</b> &amp; co",
            "parse_mode": "HTML",
            "reply_markup": keyboard({"text": "More", "callback_data": "more"}),
            "link_preview_options": json.dumps({"is_disabled": True}),
        },
    )
    assert response.status_code == 200, response.text
    message = response.json()["result"]
    assert message["text"] == "Hello Alice & co"
    assert message["entities"] == [{"type": "bold", "offset": 6, "length": 5}]
    assert message["from"]["username"] == "ldn_test_bot"
    assert message["chat"] == {"id": CHAT, "type": "private", "first_name": f"User {CHAT}"}
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more"
    call = await checked.wait_for("sendMessage")
    assert call.params["chat_id"] == CHAT  # decoded per spec type
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "More", "callback_data": "more"}]]
    }
    assert checked.last_message(CHAT) == message
    assert checked.spec is not None
    assert checked.spec.check_object(message, "Message") == []  # the answer is spec-valid too
    checked.assert_no_violations()


async def test_json_body_and_text_length_after_parsing(
    checked: FakeBotApi, client: httpx.AsyncClient
) -> None:
    first = await client.post("sendMessage", json={"chat_id": CHAT, "text": "first"})
    first_id = first.json()["result"]["message_id"]
    for text in ("<b>" + "x" * 4096 + "</b>", "&amp;" * 4096, "x" * 4096):
        response = await client.post(
            "sendMessage",
            json={
                "chat_id": CHAT,
                "text": text,
                "parse_mode": "HTML",
                "reply_parameters": {"message_id": first_id},
            },
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["result"]["text"]) == 4096
        assert response.json()["result"]["reply_to_message"]["message_id"] == first_id
    checked.assert_no_violations()


REJECTED = [
    pytest.param(
        "sendMesage",
        {"chat_id": "1", "text": "x"},
        404,
        "Not Found",
        "no such method",
        id="unknown-method",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1"},
        400,
        "message text is empty",
        "required parameter 'text'",
        id="missing-required",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "x", "parse_mod": "HTML"},
        400,
        "unknown parameter 'parse_mod'",
        "unknown parameter",
        id="unknown-field",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "x" * 4097},
        400,
        "message is too long",
        "4097 characters",
        id="text-4097",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "<b>dose</i>", "parse_mode": "HTML"},
        400,
        "can't parse entities: Unmatched end tag at byte offset 7",
        "can't parse entities",
        id="html-unmatched",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "a<br>b", "parse_mode": "HTML"},
        400,
        'Unsupported start tag "br" at byte offset 1',
        "Unsupported start tag",
        id="html-unsupported-tag",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "1 < 2", "parse_mode": "HTML"},
        400,
        "can't parse entities",
        'Unsupported start tag ""',
        id="html-bare-lt",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "<b>open", "parse_mode": "HTML"},
        400,
        'Can\'t find end tag corresponding to start tag "b"',
        "can't parse entities",
        id="html-unclosed",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "4.5 mg", "parse_mode": "MarkdownV2"},
        400,
        "Character '.' is reserved",
        "can't parse entities",
        id="mdv2-unescaped",
    ),
    pytest.param(
        "sendMessage",
        {
            "chat_id": "1",
            "text": "x",
            "reply_markup": keyboard({"text": "b", "callback_data": "x" * 65}),
        },
        400,
        "BUTTON_DATA_INVALID",
        "65 bytes, must be 1-64",
        id="callback-data-65",
    ),
    pytest.param(
        "sendMessage",
        {
            "chat_id": "1",
            "text": "x",
            "reply_markup": keyboard({"text": "b", "callback_data": "é" * 33}),
        },
        400,
        "BUTTON_DATA_INVALID",
        "66 bytes",
        id="callback-data-utf8-bytes",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_markup": keyboard({"text": "b"})},
        400,
        "Text buttons are unallowed",
        "exactly one of",
        id="button-no-action",
    ),
    pytest.param(
        "sendMessage",
        {
            "chat_id": "1",
            "text": "x",
            "reply_markup": keyboard({"text": "b", "callback_data": "x", "url": "https://t.me"}),
        },
        400,
        "exactly one of",
        "got ['url', 'callback_data']",
        id="button-two-actions",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "x", "disable_notification": "maybe"},
        400,
        "expected Boolean",
        "disable_notification",
        id="bad-boolean",
    ),
    pytest.param(
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_markup": "{oops"},
        400,
        "can't parse reply keyboard markup JSON object",
        "invalid JSON",
        id="bad-json",
    ),
    pytest.param(
        "setMyCommands",
        {"commands": json.dumps([{"command": "Start-Now", "description": "Go"}])},
        400,
        "BOT_COMMAND_INVALID",
        "lowercase English letters",
        id="bad-command",
    ),
    pytest.param(
        "setMyCommands",
        {"commands": json.dumps([{"command": "start", "description": ""}])},
        400,
        "BOT_COMMAND_INVALID",
        "0 characters, must be 1-256",
        id="empty-command-description",
    ),
    pytest.param(
        "answerCallbackQuery",
        {"callback_query_id": "1", "text": "x" * 201},
        400,
        "MESSAGE_TOO_LONG",
        "201 characters, must be 0-200",
        id="answer-too-long",
    ),
    pytest.param(
        "sendChatAction",
        {"chat_id": "1", "action": "writing"},
        400,
        "is not one of",
        "'writing'",
        id="bad-chat-action",
    ),
]


@pytest.mark.parametrize(("method", "data", "status", "description", "violation"), REJECTED)
async def test_invalid_calls_are_rejected_and_recorded(
    checked: FakeBotApi,
    client: httpx.AsyncClient,
    method: str,
    data: dict[str, str],
    status: int,
    description: str,
    violation: str,
) -> None:
    response = await client.post(method, data=data)
    assert response.status_code == status
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == status
    assert description in body["description"]
    assert len(checked.violations) == 1, checked.violations
    assert violation in checked.violations[0]
    assert checked.calls[-1].method == method
    assert checked.calls[-1].status == status
    with pytest.raises(AssertionError, match="1 Bot API violation"):
        checked.assert_no_violations()


async def test_multipart_uploads_and_attachments(
    checked: FakeBotApi, client: httpx.AsyncClient
) -> None:
    photo = ("dose.png", b"\x89PNG...", "image/png")
    response = await client.post(
        "sendPhoto", data={"chat_id": str(CHAT), "caption": "Chart"}, files={"photo": photo}
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["caption"] == "Chart"
    media = json.dumps(
        [{"type": "photo", "media": "attach://other"}, {"type": "photo", "media": "attach://gone"}]
    )
    response = await client.post(
        "sendMediaGroup", data={"chat_id": str(CHAT), "media": media}, files={"other": photo}
    )
    assert response.status_code == 400
    assert checked.violations == [
        "sendMediaGroup: media[1].media: 'attach://gone' refers to no uploaded file part"
    ]


async def test_get_updates_long_polling_and_offset(
    checked: FakeBotApi, client: httpx.AsyncClient
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(client.post("getUpdates", data={"timeout": "5"}))
    await checked.wait_for_poll()
    assert not poll.done()
    pushed = checked.push_update(factories.private_message("hello"))
    response = await poll
    assert loop.time() - started < 4  # answered by the push, not by the timeout
    updates = response.json()["result"]
    assert [u["update_id"] for u in updates] == [pushed["update_id"]]
    assert updates[0]["message"]["text"] == "hello"

    # Not confirmed yet: delivered again; confirmed by offset = update_id + 1.
    again = await client.post("getUpdates", data={"timeout": "0"})
    assert again.json()["result"] == updates
    next_offset = str(pushed["update_id"] + 1)
    confirmed = await client.post("getUpdates", data={"offset": next_offset, "timeout": "0"})
    assert confirmed.json()["result"] == []
    assert checked.pending_updates == []

    # limit, order and allowed_updates
    ids = [checked.push_update(factories.private_message(f"m{i}"))["update_id"] for i in range(3)]
    limited = await client.post("getUpdates", data={"limit": "2", "timeout": "0"})
    assert [u["update_id"] for u in limited.json()["result"]] == ids[:2]
    only_callbacks = await client.post(
        "getUpdates", data={"allowed_updates": json.dumps(["callback_query"]), "timeout": "0"}
    )
    assert only_callbacks.json()["result"] == []
    assert [u["update_id"] for u in checked.dropped_updates] == ids
    checked.assert_no_violations()


async def test_get_updates_waits_for_the_timeout(
    checked: FakeBotApi, client: httpx.AsyncClient
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post("getUpdates", data={"timeout": "1"})
    elapsed = loop.time() - started
    assert response.json() == {"ok": True, "result": []}
    assert 0.9 <= elapsed < 3


async def test_second_poller_conflicts_and_stop_ends_polls() -> None:
    fake = FakeBotApi()
    await fake.start()
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{fake.token}/", timeout=10) as http:
        first = asyncio.create_task(http.post("getUpdates", data={"timeout": "5"}))
        await fake.wait_for_poll()
        second = asyncio.create_task(http.post("getUpdates", data={"timeout": "5"}))
        conflict = await first
        assert conflict.status_code == 409
        assert "terminated by other getUpdates request" in conflict.json()["description"]
        await fake.wait_for_poll()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await fake.stop()  # answers the pending poll instead of letting it hang
        assert (await second).json() == {"ok": True, "result": []}
        assert loop.time() - started < 2


async def test_wrong_token_gets_401(server: FakeBotApi) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert "wrong bot token" in server.violations[0]


async def test_fail_next_injects_errors(
    server: FakeBotApi, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else PTB's RetryAfter warns (deprecation)
    server.fail_next("sendMessage", 429, retry_after=3)
    data = {"chat_id": str(CHAT), "text": "hi"}
    throttled = await client.post("sendMessage", data=data)
    assert throttled.status_code == 429
    assert throttled.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert (await client.post("sendMessage", data=data)).status_code == 200

    server.fail_next("sendMessage", 403)
    async with Bot(server.token, base_url=server.base_url) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CHAT, "reminder")
        server.fail_next("sendMessage", 429, retry_after=1)
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(CHAT, "reminder")
        assert raised.value.retry_after == dt.timedelta(seconds=1)
    server.assert_no_violations()  # injected failures are not violations


async def test_ptb_bot_sees_violations_as_bad_request(checked: FakeBotApi) -> None:
    async with Bot(checked.token, base_url=checked.base_url) as bot:
        with pytest.raises(BadRequest, match="too long"):
            await bot.send_message(CHAT, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(CHAT, "<b>unclosed", parse_mode="HTML")
        sent = await bot.send_message(CHAT, "ok")
        await bot.edit_message_text("ok, edited", chat_id=CHAT, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("ok, edited", chat_id=CHAT, message_id=sent.message_id)
    assert len(checked.violations) == 2
    assert len(checked.errors) == 1
    assert "message is not modified" in checked.errors[0]


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_user is not None and update.message is not None
    name = html.escape(update.effective_user.first_name)
    button = InlineKeyboardButton("Tell me more", callback_data="more")
    await update.message.reply_html(
        f"Hello <b>{name}</b>! I answer questions about LDN.",
        reply_markup=InlineKeyboardMarkup([[button]]),
    )


async def _more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Loading…")
    await query.edit_message_text("LDN is naltrexone at a low dose.")


@pytest.mark.e2e
async def test_ptb_application_end_to_end(server: FakeBotApi) -> None:
    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CallbackQueryHandler(_more, pattern="^more$"))
    async with app:
        await app.bot.set_my_commands([BotCommand("start", "Start the bot")])
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        server.push_update(factories.command("/start", first_name="Alice & Bob"))
        reply = await server.wait_for("sendMessage")
        assert reply.ok
        assert reply.result["text"] == "Hello Alice & Bob! I answer questions about LDN."
        assert reply.params["parse_mode"] == "HTML"

        server.push_update(factories.callback_query("more", reply.result))
        edit = await server.wait_for("editMessageText")
        await app.updater.stop()
        await app.stop()
    assert edit.ok
    assert server.calls_to("answerCallbackQuery")[0].params["text"] == "Loading…"
    last = server.last_message(CHAT)
    assert last is not None
    assert last["text"] == "LDN is naltrexone at a low dose."
    assert "reply_markup" not in last  # editing without reply_markup drops the keyboard
    assert server.calls_to("getMe") and server.calls_to("deleteWebhook")
    assert "Start the bot" in json.dumps(server.commands)
    server.assert_no_violations()
    assert server.errors == []


async def test_factories_make_spec_valid_updates(server: FakeBotApi) -> None:
    mention_text = "@ldn_test_bot what dose?"
    group = factories.group_message(
        mention_text, reply_to_bot=True, entities=[factories.mention_entity(mention_text)]
    )
    pushed = [
        server.push_update(factories.private_message("hi")),
        server.push_update(group),
        server.push_update(factories.command("/dose@ldn_test_bot 4.5", chat_id=-1001234567890)),
    ]
    assert [u["update_id"] for u in pushed] == [1, 2, 3]
    group_msg = pushed[1]["message"]
    assert group_msg["entities"] == [{"type": "mention", "offset": 0, "length": 13}]
    assert group_msg["reply_to_message"]["from"]["is_bot"] is True
    assert group_msg["reply_to_message"]["message_id"] < group_msg["message_id"]
    assert pushed[2]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 18}]
    assert factories.mention_entity("😀 @LDN_test_bot") == {
        "type": "mention",
        "offset": 3,
        "length": 13,
    }
    bot_message = server.last_message(factories.DEFAULT_GROUP_ID)
    assert bot_message is not None  # the stand-in bot message was registered
    server.push_update(factories.callback_query("more", bot_message))
    if server.spec is not None:
        with pytest.raises(ValueError, match="does not match the Bot API spec"):
            server.push_update({"message": {"chat": {"id": 1}, "text": "no type, no sender"}})


async def test_wait_for_times_out_listing_calls(
    server: FakeBotApi, client: httpx.AsyncClient
) -> None:
    await client.post("getMe")
    with pytest.raises(AssertionError, match=r"(?s)waiting for 1 matching sendMessage.*getMe"):
        await server.wait_for("sendMessage", timeout=0.2)


def test_html_parser_matches_telegram() -> None:
    text, entities = parse_html(
        '<b>bold <i>both</i></b> &lt;3 &#128512; <a href="https://x.org">link</a> '
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote expandable>quote</blockquote><tg-spoiler>s</tg-spoiler>"
    )
    assert text == "bold both <3 😀 link x = 1quotes"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 9),
        ("italic", 5, 4),
        ("text_link", 16, 4),
        ("pre", 21, 5),
        ("expandable_blockquote", 26, 5),
        ("spoiler", 31, 1),
    ]
    assert entities[3]["language"] == "python"


async def test_missing_spec_skips_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LDN_SHARED_DIR", str(tmp_path))
    assert default_spec_path() == tmp_path / "telegram" / "bot-api-10.1.min.json"
    async with FakeBotApi() as fake, httpx.AsyncClient() as http:
        assert fake.skip_reason is not None
        assert "not found" in fake.skip_reason
        response = await http.post(f"{fake.base_url}{fake.token}/anyMethod", data={"a": "1"})
    assert response.json() == {"ok": True, "result": True}
    assert fake.violations == []
