"""End to end: the real Application against the fake Bot API server on loopback.

Every call the bot makes is checked against Telegram's published spec by the server; each test
ends by asserting there was no violation.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import callbacks, texts
from bot.context import BotContext
from knowledge import Engine, load
from store import StoreError
from tests.botharness import (
    CLINIC,
    TOKEN,
    RunningBot,
    find_clarify_question,
    make_config,
    running_bot,
)
from tests.fakebotapi import FakeBotApi, factories

pytestmark = pytest.mark.e2e

USER = 1001
OTHER_USER = 1002


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        if server.skip_reason:
            print(f"Bot API spec checks skipped: {server.skip_reason}")
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")) as running:
            yield running
        server.assert_no_violations()


def sent_to(chat_id: int) -> Any:
    return lambda call: call.params.get("chat_id") == chat_id


async def ask(bot: RunningBot, text: str, chat_id: int = USER) -> dict[str, Any]:
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(text, user_id=chat_id))
    call = await bot.server.wait_for("sendMessage", sent_to(chat_id), since=mark)
    return call.params


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


async def press(bot: RunningBot, data: str, chat_id: int = USER) -> int:
    """Press a button on the bot's last message in the chat; returns the call mark before it."""
    message = bot.server.last_message(chat_id)
    assert message is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, message, user_id=chat_id))
    await bot.server.wait_for("answerCallbackQuery", since=mark)
    return mark


async def test_start_welcomes_registers_commands_and_remembers_the_chat(bot: RunningBot) -> None:
    commands = await bot.server.wait_for("setMyCommands")
    names = [c["command"] for c in commands.params["commands"]]
    assert names == [name for name, _ in texts.COMMANDS]
    for name in ("start", "topics", "plan", "today", "schedule", "pause", "resume", "stop"):
        assert name in names
    assert {"time", "timezone", "help", "sources", "privacy", "forget"} <= set(names)

    mark = bot.server.mark()
    bot.server.push_update(factories.command("/start", user_id=USER))
    welcome = (await bot.server.wait_for("sendMessage", since=mark)).params
    text = welcome["text"]
    assert "not personal medical advice" in text and "never change your dose" in text
    assert "/privacy" in text and "/forget" in text
    assert CLINIC["phone"] in text and CLINIC["emergency_number"] in text
    examples = buttons(welcome)
    assert len(examples) >= 3 and all(data.startswith("q:") for _, data in examples)

    record = bot.store.get_chat(USER)
    assert record is not None and record.started and record.kind == "private"

    # An example button answers its topic as a new message.
    mark = await press(bot, examples[0][1])
    answer = (await bot.server.wait_for("sendMessage", since=mark)).params
    assert "Sources:" in answer["text"]


async def test_question_gets_answer_with_compact_sources(bot: RunningBot) -> None:
    params = await ask(bot, "can't sleep on ldn")
    assert params["parse_mode"] == "HTML"
    text = params["text"]
    assert "Sources:" in text
    assert "slide “Potential Side Effects”" in text
    assert '<a href="https://doi.org/' in text  # a study with a DOI is linked
    # ... without a preview of the paper's page under the answer
    assert params["link_preview_options"] == {"is_disabled": True}


async def test_clarify_offers_topics_and_a_tap_answers_in_place(bot: RunningBot) -> None:
    engine = bot.app.bot_data.services.engine  # type: ignore[union-attr]
    question = find_clarify_question(engine)
    params = await ask(bot, question)
    assert params["text"].startswith("I'm not sure I understood")
    options = buttons(params)
    picks = [data for _, data in options if data.startswith("a:")]
    assert 1 <= len(picks) <= 3
    entry_id = picks[0][2:]

    mark = await press(bot, picks[0])
    edit = (await bot.server.wait_for("editMessageText", since=mark)).params
    entry = engine.entry(entry_id)
    assert entry is not None and entry.answer[:40].replace("'", "&#x27;")[:20] in edit["text"]


async def test_fallback_is_honest_and_keeps_the_question_without_the_chat(bot: RunningBot) -> None:
    params = await ask(bot, "what is the capital of mongolia")
    assert "I don't have an answer" in params["text"]
    assert CLINIC["phone"] in params["text"]
    assert "link_preview_options" not in params  # no link, no option to send
    # Updates of one chat are handled in order: once the next reply is out, the first
    # question has been queued; drain() waits for it to be written.
    await ask(bot, "what is ldn")
    await bot.app.bot_data.services.require_recorder().drain()  # type: ignore[union-attr]
    rows = bot.store.unanswered_report(bot.app.bot_data.services.clock(), 90)  # type: ignore[union-attr]
    assert [r.question for r in rows] == ["what is the capital of mongolia"]
    # What could identify the patient is not kept: neither words nor the time of day.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.private_message(
            "My name is Jane Smith, call 07700 900123: what is the capital of peru?",
            user_id=USER,
        )
    )
    await bot.server.wait_for(
        "sendMessage",
        lambda c: sent_to(USER)(c) and "I don't have an answer" in c.params["text"],
        since=mark,
    )
    await ask(bot, "what is ldn")
    await bot.app.bot_data.services.require_recorder().drain()  # type: ignore[union-attr]
    rows = bot.store.unanswered_report(bot.app.bot_data.services.clock(), 90)  # type: ignore[union-attr]
    assert "my name is [name] call [phone] what is the capital of peru" in [
        r.question for r in rows
    ]
    assert not any("jane" in r.question or "07700" in r.question for r in rows)
    # The look-alike about another drug must not get LDN's side effects.
    params = await ask(bot, "what are the side effects of ibuprofen")
    assert "Potential Side Effects" not in params["text"]


@pytest.mark.parametrize(
    ("question", "must_contain"),
    [
        ("I take tramadol every day, is that ok with ldn?", ["withdrawal", "+1 555 0100", "911"]),
        ("I think I took too many pills", ["911", "poison"]),
        ("my throat is swelling and I can't breathe", ["911"]),
        ("I want to end my life", ["988", "911"]),
    ],
)
async def test_safety_templates(bot: RunningBot, question: str, must_contain: list[str]) -> None:
    params = await ask(bot, question)
    assert params["text"].startswith("⚠️")
    for expected in must_contain:
        assert expected in params["text"]


async def test_topics_navigation(bot: RunningBot) -> None:
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/topics", user_id=USER))
    params = (await bot.server.wait_for("sendMessage", since=mark)).params
    categories = buttons(params)
    dose = next(data for label, data in categories if label == "Dose and taking it")

    mark = await press(bot, dose)
    listing = (await bot.server.wait_for("editMessageText", since=mark)).params
    entries = buttons(listing)
    assert ("« All topics", "t:") in entries
    first = next(data for _, data in entries if data.startswith("a:"))

    mark = await press(bot, first)
    answer = (await bot.server.wait_for("editMessageText", since=mark)).params
    assert "Sources:" in answer["text"]
    assert buttons(answer) == [("« Back", dose)]

    mark = await press(bot, dose)
    again = (await bot.server.wait_for("editMessageText", since=mark)).params
    assert buttons(again) == entries


async def test_forget_deletes_every_row_about_the_chat(bot: RunningBot) -> None:
    for chat in (USER, OTHER_USER):
        mark = bot.server.mark()
        bot.server.push_update(factories.command("/start", user_id=chat))
        await bot.server.wait_for("sendMessage", sent_to(chat), since=mark)
    bot.store.set_preference(USER, "reminder_time", "21:30", bot.app.bot_data.services.clock())  # type: ignore[union-attr]
    assert bot.store.rows_about_chat(USER) >= 2

    mark = bot.server.mark()
    bot.server.push_update(factories.command("/forget", user_id=USER))
    confirm = (await bot.server.wait_for("sendMessage", since=mark)).params
    assert buttons(confirm)[0][1] == callbacks.forget(True)

    mark = await press(bot, callbacks.forget(True))
    done = (await bot.server.wait_for("editMessageText", since=mark)).params
    assert "nothing about this chat is stored" in done["text"]
    assert bot.store.rows_about_chat(USER) == 0
    assert bot.store.get_chat(OTHER_USER) is not None


async def test_group_chat_answers_only_when_addressed(bot: RunningBot) -> None:
    group = -100200300
    server = bot.server
    mark = server.mark()
    server.push_update(factories.group_message("what is ldn", chat_id=group))
    addressed = "@ldn_test_bot what is ldn"
    server.push_update(
        factories.group_message(
            addressed, chat_id=group, entities=[factories.mention_entity(addressed)]
        )
    )
    first = await server.wait_for("sendMessage", sent_to(group), since=mark)
    assert "What is LDN" in first.params["text"] or "LDN" in first.params["text"]
    # The unaddressed message (pushed first, handled in order) got no reply.
    assert len([c for c in server.calls_to("sendMessage") if c.params["chat_id"] == group]) == 1

    mark = server.mark()
    server.push_update(
        factories.group_message(
            "and side effects?", chat_id=group, reply_to=server.last_message(group)
        )
    )
    await server.wait_for("sendMessage", sent_to(group), since=mark)

    mark = server.mark()
    server.push_update(factories.command("/help@ldn_test_bot", chat_id=group))
    help_call = await server.wait_for("sendMessage", sent_to(group), since=mark)
    assert "How to use me" in help_call.params["text"]


@pytest.mark.parametrize("data", ["a:no-such-entry", "t:no-such-category", "zz:1", "f:maybe", "q:"])
async def test_forged_or_stale_buttons_get_a_polite_answer(bot: RunningBot, data: str) -> None:
    await ask(bot, "what is ldn")
    message = bot.server.last_message(USER)
    assert message is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, message, user_id=USER))
    call = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert "no longer works" in call.params["text"]
    assert not bot.server.calls_to("editMessageText")


async def test_a_4000_character_answer_is_split_within_limits(tmp_path: Path) -> None:
    kb = load()
    long_answer = " ".join(["Low dose naltrexone & the body's endorphins <explained>."] * 72)[:4000]
    entries = tuple(
        dataclasses.replace(e, answer=long_answer) if e.id == "what-is-ldn" else e
        for e in kb.entries
    )
    engine = Engine(dataclasses.replace(kb, entries=entries))
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, tmp_path / "bot.sqlite3")
        async with running_bot(server, config, engine=engine):
            mark = server.mark()
            server.push_update(factories.private_message("what is ldn", user_id=USER))
            calls = await server.wait_for_all("sendMessage", sent_to(USER), count=2, since=mark)
        server.assert_no_violations()
    assert all(len(c.params["text"]) <= 4096 for c in calls)
    assert "Sources:" in calls[-1].params["text"]
    assert "&amp;" in calls[0].params["text"] and "&lt;explained&gt;" in calls[0].params["text"]


async def test_logs_hold_neither_token_nor_patient_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret_question = "my private question: what colour are zebras"
    async with (
        FakeBotApi(token=TOKEN) as server,
        running_bot(server, make_config(server, tmp_path / "bot.sqlite3")),
    ):
        server.fail_next(
            "sendMessage", error_code=400, description="Bad Request: can't parse entities"
        )
        mark = server.mark()
        server.push_update(factories.private_message(secret_question, user_id=USER))
        # The failed answer, then the error handler's notice.
        notice = await server.wait_for("sendMessage", sent_to(USER), count=2, since=mark)
        assert "something went wrong" in notice.params["text"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("caused SendFailed" in r.getMessage() for r in errors)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    for text in (logged, caplog.text):
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text
        assert "zebra" not in text


async def test_sources_privacy_and_help(bot: RunningBot) -> None:
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/sources", user_id=USER))
    # The list ends with the last checked record (JAMA's news item on the 1994 approval).
    await bot.server.wait_for(
        "sendMessage", lambda c: "jamanetwork" in c.params["text"], since=mark
    )
    sent = [c.params["text"] for c in bot.server.calls[mark:] if c.method == "sendMessage"]
    assert sent[0].startswith("<b>Sources</b>") and len(sent) >= 2
    listing = "\n".join(sent)
    assert "10.1002/art.37734" in listing  # the checked Younger 2013 record, linked by DOI
    assert all(len(text) <= 4096 for text in sent)

    for command, expected in (("/privacy", "without any link to you"), ("/help", "/topics")):
        mark = bot.server.mark()
        bot.server.push_update(factories.command(command, user_id=USER))
        await bot.server.wait_for(
            "sendMessage", lambda c, e=expected: e in c.params["text"], since=mark
        )


async def test_unanswered_questions_are_purged_by_a_scheduled_job(bot: RunningBot) -> None:
    services = bot.app.bot_data.services
    assert services is not None and bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name("purge-unanswered")
    assert job.trigger.interval_length == 6 * 3600  # type: ignore[attr-defined]

    now = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
    bot.store.record_unanswered("old question", "fallback", now - timedelta(days=91))
    bot.store.record_unanswered("recent question", "fallback", now - timedelta(days=89))
    services.clock = lambda: now
    await job.callback(BotContext.from_job(job, bot.app))  # run it, don't wait for it
    rows = bot.store.unanswered_report(now, 365)
    assert [r.question for r in rows] == ["recent question"]


async def test_mention_after_emoji_keeps_the_whole_question(bot: RunningBot) -> None:
    group = -100200301
    text = "🙂🙂🙂🙂🙂🙂🙂 @ldn_test_bot I want to die"
    mark = bot.server.mark()
    bot.server.push_update(
        factories.group_message(text, chat_id=group, entities=[factories.mention_entity(text)])
    )
    reply = await bot.server.wait_for("sendMessage", sent_to(group), since=mark)
    assert reply.params["text"].startswith("⚠️") and "988" in reply.params["text"]


async def test_a_photo_caption_is_a_question_and_an_edit_is_read_for_safety(
    bot: RunningBot,
) -> None:
    server = bot.server
    photo = factories.private_message("", user_id=USER)
    message = photo["message"]
    del message["text"]
    message["caption"] = "I took too many of my tablets"
    message["photo"] = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    mark = server.mark()
    server.push_update(photo)
    reply = await server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "poison" in reply.params["text"]

    edited = factories.private_message("I want to kill myself", user_id=USER, message_id=4242)
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = 1_700_000_000
    mark = server.mark()
    server.push_update(edited)
    reply = await server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "988" in reply.params["text"]


async def test_an_ordinary_edit_gets_no_second_answer(bot: RunningBot) -> None:
    edited = factories.private_message("what is ldn", user_id=USER, message_id=4343)
    edited["edited_message"] = edited.pop("message")
    edited["edited_message"]["edit_date"] = 1_700_000_000
    bot.server.push_update(edited)
    # A later question's answer proves the edit was handled (updates of a chat go in order).
    mark = bot.server.mark()
    params = await ask(bot, "when do I take it")
    sent = [c for c in bot.server.calls[mark:] if c.method == "sendMessage"]
    assert [c.params["text"] for c in sent] == [params["text"]]


async def test_a_double_tap_is_not_an_error(bot: RunningBot) -> None:
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/topics", user_id=USER))
    await bot.server.wait_for("sendMessage", since=mark)
    message = bot.server.last_message(USER)
    assert message is not None
    for _ in range(2):
        mark = bot.server.mark()
        bot.server.push_update(factories.callback_query("t:dose", message, user_id=USER))
        await bot.server.wait_for("answerCallbackQuery", since=mark)
    params = await ask(bot, "what is ldn")  # handled after both taps
    assert "something went wrong" not in params["text"]
    assert all("something went wrong" not in c.params.get("text", "") for c in bot.server.calls)


async def test_in_a_group_only_the_asker_can_confirm_forget(bot: RunningBot) -> None:
    group = -100200302
    server = bot.server
    mark = server.mark()
    server.push_update(factories.command("/forget", chat_id=group, user_id=USER))
    await server.wait_for("sendMessage", sent_to(group), since=mark)
    message = server.last_message(group)
    assert message is not None
    mark = server.mark()
    server.push_update(
        factories.callback_query(callbacks.forget(True), message, user_id=OTHER_USER)
    )
    call = await server.wait_for("answerCallbackQuery", since=mark)
    assert "Only the person who asked" in call.params["text"]
    mark = server.mark()
    server.push_update(factories.callback_query(callbacks.forget(True), message, user_id=USER))
    done = await server.wait_for("editMessageText", since=mark)
    assert "nothing about this chat is stored" in done.params["text"]


async def test_a_store_failure_after_the_answer_is_logged_without_the_question(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    await ask(bot, "what is ldn")  # the chat is recorded now, so the next write is the question

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreError("database error: disk I/O error")

    # The inbox still works (the update is stored and answered); the bookkeeping write fails.
    monkeypatch.setattr(bot.store, "record_unanswered_many", broken)
    params = await ask(bot, "what does a zebra-striped moon mean, mr smith")
    assert "I don't have an answer" in params["text"]
    assert "something went wrong" not in params["text"]
    await ask(bot, "what is ldn")  # the first question's bookkeeping is queued by now
    await bot.app.bot_data.services.require_recorder().drain()  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("could not record" in r.getMessage() for r in warnings)
    assert "zebra" not in caplog.text and "smith" not in caplog.text
