"""End to end: the safety check-in (tier 2) over HTTP against the fake Bot API server.

A message that no safety rule matches but the learned signal flags gets a warm check-in with
"I need help now" and "I'm OK" first, then the ordinary answer. The messages used are found by
asking the engine, never typed in as expected results.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import callbacks, texts
from bot.handlers.checkin import CHECKIN, HELP, OK
from knowledge import Engine, load
from tests.botharness import TOKEN, RunningBot, make_config, running_bot
from tests.eval import splits
from tests.fakebotapi import FakeBotApi, factories

pytestmark = pytest.mark.e2e

USER = 2001
OTHER_USER = 2002
GROUP = -100900100


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def checkin_question(engine: Engine, kind: str | None = None) -> tuple[str, str]:
    """A training crisis that gets the check-in (tier 2), with its kind."""
    for example in splits.safety_training_examples():
        if example.label == "none" or "@" in example.message:
            continue
        reply = engine.ask(example.message)
        if reply.tier == 2 and reply.checkin is not None and kind in (None, reply.checkin):
            return example.message, reply.checkin
    raise AssertionError(f"no training crisis gets a check-in of kind {kind}")


@pytest.fixture
async def bot(tmp_path: Path, engine: Engine) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, tmp_path / "bot.sqlite3")
        async with running_bot(server, config, engine=engine) as running:
            yield running
        server.assert_no_violations()


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def to(chat_id: int) -> Any:
    return lambda call: call.params.get("chat_id") == chat_id


async def ask_with_checkin(
    bot: RunningBot, update: dict[str, Any], chat_id: int
) -> tuple[Any, Any]:
    """Push a message; return the check-in call and the ordinary answer's call after it."""
    mark = bot.server.mark()
    bot.server.push_update(update)
    calls = await bot.server.wait_for_all("sendMessage", to(chat_id), count=2, since=mark)
    return calls[0], calls[1]


async def press(bot: RunningBot, data: str, message: dict[str, Any], user_id: int) -> int:
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, message, user_id=user_id))
    await bot.server.wait_for("answerCallbackQuery", since=mark)
    return mark


async def test_a_checkin_comes_first_and_help_now_sends_the_safety_answer(
    bot: RunningBot, engine: Engine
) -> None:
    question, kind = checkin_question(engine)
    checkin, answer = await ask_with_checkin(
        bot, factories.private_message(question, user_id=USER), USER
    )
    assert checkin.params["text"] == texts.escape(texts.checkin(kind))
    labels = buttons(checkin.params)
    assert [label for label, _ in labels] == [texts.CHECKIN_HELP_BUTTON, texts.CHECKIN_OK_BUTTON]
    ordinary = engine.ask(question)
    assert ordinary.answer.split(".")[0][:40] in answer.params["text"].replace("&#x27;", "'")
    events = bot.store.events_for_chat(USER)
    assert [(e.kind, e.ref, e.user_id) for e in events] == [(CHECKIN, kind, USER)]
    assert labels[0][1] == callbacks.checkin(events[0].id, callbacks.CHECKIN_HELP)

    mark = await press(bot, labels[0][1], checkin.result, USER)
    safety = await bot.server.wait_for("sendMessage", to(USER), since=mark)
    expected = engine.safety_reply(kind)
    assert expected is not None
    assert expected.answer.split(".")[0] in safety.params["text"]
    edited = await bot.server.wait_for("editMessageText", since=mark)
    assert texts.CHECKIN_HELP_SENT in edited.params["text"]
    assert not edited.params.get("reply_markup")
    assert [(e.kind, e.ref) for e in bot.store.events_for_chat(USER)][1:] == [
        (HELP, str(events[0].id))
    ]

    # Pressed again (or the other button): already answered, so a stale button.
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(labels[1][1], checkin.result, user_id=USER))
    stale = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert stale.params["text"] == texts.STALE_BUTTON
    assert len(bot.store.events_for_chat(USER)) == 2


async def test_im_ok_is_noted_without_text_and_edits_the_checkin(
    bot: RunningBot, engine: Engine
) -> None:
    question, _ = checkin_question(engine)
    checkin, _answer = await ask_with_checkin(
        bot, factories.private_message(question, user_id=USER), USER
    )
    sent_before = len(bot.server.calls_to("sendMessage"))
    mark = await press(bot, buttons(checkin.params)[1][1], checkin.result, USER)
    edited = await bot.server.wait_for("editMessageText", since=mark)
    assert "Thank you for letting me know you're OK" in edited.params["text"].replace("&#x27;", "'")
    assert len(bot.server.calls_to("sendMessage")) == sent_before  # nothing more is sent
    events = bot.store.events_for_chat(USER)
    assert [e.kind for e in events] == [CHECKIN, OK]
    assert events[1].ref == str(events[0].id)  # an id, never the patient's words


@pytest.mark.parametrize("forged", ["s:999999:h", "s:abc:o", "s:1:x", "s:", "s:1"])
async def test_forged_or_stale_checkin_buttons_get_the_stale_answer(
    bot: RunningBot, engine: Engine, forged: str
) -> None:
    question, _ = checkin_question(engine)
    checkin, _answer = await ask_with_checkin(
        bot, factories.private_message(question, user_id=USER), USER
    )
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(forged, checkin.result, user_id=USER))
    call = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert call.params["text"] == texts.STALE_BUTTON
    assert [e.kind for e in bot.store.events_for_chat(USER)] == [CHECKIN]


async def test_a_checkin_from_another_chat_is_stale(bot: RunningBot, engine: Engine) -> None:
    question, _ = checkin_question(engine)
    checkin, _answer = await ask_with_checkin(
        bot, factories.private_message(question, user_id=USER), USER
    )
    theirs = buttons(checkin.params)[0][1]
    await ask_with_checkin(bot, factories.private_message(question, user_id=OTHER_USER), OTHER_USER)
    other = bot.server.last_message(OTHER_USER)
    assert other is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(theirs, other, user_id=OTHER_USER))
    call = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert call.params["text"] == texts.STALE_BUTTON
    assert [e.kind for e in bot.store.events_for_chat(USER)] == [CHECKIN]


async def test_in_a_group_only_the_asker_may_answer_the_checkin(
    bot: RunningBot, engine: Engine
) -> None:
    question, kind = checkin_question(engine)
    addressed = f"@ldn_test_bot {question}"
    update = factories.group_message(
        addressed, chat_id=GROUP, user_id=USER, entities=[factories.mention_entity(addressed)]
    )
    checkin, _answer = await ask_with_checkin(bot, update, GROUP)
    help_now = buttons(checkin.params)[0][1]

    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(help_now, checkin.result, user_id=OTHER_USER))
    refused = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert refused.params["text"] == texts.CHECKIN_NOT_YOURS
    assert [e.kind for e in bot.store.events_for_chat(GROUP)] == [CHECKIN]

    mark = await press(bot, help_now, checkin.result, USER)
    safety = await bot.server.wait_for("sendMessage", to(GROUP), since=mark)
    expected = engine.safety_reply(kind)
    assert expected is not None and expected.answer.split(".")[0] in safety.params["text"]
    await bot.server.wait_for("editMessageText", since=mark)  # after the event is recorded
    assert [e.kind for e in bot.store.events_for_chat(GROUP)] == [CHECKIN, HELP]


async def test_forget_removes_the_checkin_events(bot: RunningBot, engine: Engine) -> None:
    question, _ = checkin_question(engine)
    checkin, _answer = await ask_with_checkin(
        bot, factories.private_message(question, user_id=USER), USER
    )
    await press(bot, buttons(checkin.params)[1][1], checkin.result, USER)
    await bot.server.wait_for("editMessageText")
    assert len(bot.store.events_for_chat(USER)) == 2

    mark = bot.server.mark()
    bot.server.push_update(factories.command("/forget", user_id=USER))
    await bot.server.wait_for("sendMessage", to(USER), since=mark)
    confirm = bot.server.last_message(USER)
    assert confirm is not None
    mark = await press(bot, callbacks.forget(True), confirm, USER)
    await bot.server.wait_for("editMessageText", since=mark)
    assert bot.store.events_for_chat(USER) == []
    # The old check-in's buttons are stale now.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(buttons(checkin.params)[0][1], checkin.result, user_id=USER)
    )
    stale = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert stale.params["text"] == texts.STALE_BUTTON


async def test_an_ordinary_question_gets_no_checkin(bot: RunningBot, engine: Engine) -> None:
    question = next(
        e.message
        for e in splits.safety_training_examples()
        if e.source == "kb" and engine.ask(e.message).tier == 0
    )
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(question, user_id=USER))
    call = await bot.server.wait_for("sendMessage", to(USER), since=mark)
    assert not any(data.startswith("s:") for _, data in buttons(call.params))
    assert bot.store.events_for_chat(USER) == []
