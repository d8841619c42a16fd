"""Enrolment links and consent end to end: a link opened, opened again and expired; a chat
with a regimen asked before it is replaced; consent granted and withdrawn (/privacy); every
staff command and button tried by a patient (none works, all audited); /forget with audit rows
present."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot import texts
from bot.context import Services
from bot.handlers.enrol import LINK_EXPIRED, LINK_INVALID, LINK_PRIVATE, LINK_USED
from reminders import Regimen, load_plans
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.fakebotapi import Call, FakeBotApi, factories
from tests.staffharness import NURSE, button, press, say, sqlite_url, staff_config, to

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PATIENT = 4001
OTHER = 4002


def services_of(bot: RunningBot) -> Services:
    services = bot.app.bot_data.services
    assert services is not None
    return services


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(server, sqlite_url(tmp_path / "bot.sqlite3"))
        async with running_bot(server, config) as running:
            services_of(running).clock = lambda: NOW
            yield running
        server.assert_no_violations()


async def make_link(bot: RunningBot, args: str = "standard 2026-12-07 MRN 1234") -> str:
    mark = bot.server.mark()
    bot.server.push_update(factories.command(f"/enrol {args}", user_id=NURSE))
    calls = await bot.server.wait_for_all("sendMessage", to(NURSE), count=2, since=mark)
    assert "Enrolment link" in calls[0].params["text"]
    link = calls[1].params["text"]
    assert link.startswith(f"https://t.me/{bot.server.bot_username}?start=")
    return link.rsplit("=", 1)[1]


async def open_link_calls(bot: RunningBot, user: int, code: str, count: int) -> list[Call]:
    mark = bot.server.mark()
    bot.server.push_update(factories.command(f"/start {code}", user_id=user))
    return await bot.server.wait_for_all("sendMessage", to(user), count=count, since=mark)


async def open_link(bot: RunningBot, user: int, code: str, count: int) -> list[str]:
    return [c.params["text"] for c in await open_link_calls(bot, user, code, count)]


async def answer_consent(bot: RunningBot, consent: Call, label: str) -> None:
    """Press a consent button and wait for the question to be edited into the answer."""
    mark = bot.server.mark()
    await press(bot, PATIENT, button(consent.params, label), consent.result)
    edited = await bot.server.wait_for("editMessageText", to(PATIENT), since=mark)
    assert "Thank you" in edited.params["text"]


async def test_a_link_sets_up_the_plan_and_asks_for_consent_once(bot: RunningBot) -> None:
    code = await make_link(bot)
    welcome, intro, question, step = await open_link_calls(bot, PATIENT, code, 4)
    assert "Hello!" in welcome.params["text"]
    assert "starting Monday 7 December" in intro.params["text"] or "7 Dec" in intro.params["text"]
    assert "May I share" in question.params["text"]
    # The reminder setup comes with the question, not after it: the patient picks zone and time.
    assert "time zone" in step.params["text"].lower()
    assert bot.store.clinic_ref(PATIENT) == "MRN 1234"
    mark = bot.server.mark()
    await answer_consent(bot, question, "Yes, share")
    # A chat's updates are handled in order: once /help is answered, the button's are done,
    # and the first message since is /help's (the setup step is not asked twice).
    bot.server.push_update(factories.command("/help", user_id=PATIENT))
    first = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    assert "/help" in first.params["text"] and "step 2 of 4" not in first.params["text"]
    draft = bot.store.get_draft(PATIENT)
    assert draft is not None and (draft.plan_name, draft.start_date) == (
        "standard",
        date(2026, 12, 7),
    )
    assert bot.store.has_consent(PATIENT)
    # A second tap on the consent buttons changes nothing.
    answer = await press(bot, PATIENT, "e:no")
    assert answer.get("text") == texts.STALE_BUTTON
    assert [c.granted for c in bot.store.consent_history(PATIENT)] == [True]

    # Opened again (by anyone): used. A made-up code: not valid.
    assert (await open_link(bot, OTHER, code, 2))[1] == LINK_USED
    assert (await open_link(bot, OTHER, "madeUpCode123456", 2))[1] == LINK_INVALID
    assert bot.store.clinic_ref(OTHER) is None

    # /privacy shows the consent and withdraws it; the history keeps both answers.
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/privacy", user_id=PATIENT))
    calls = await bot.server.wait_for_all("sendMessage", to(PATIENT), count=2, since=mark)
    assert "On since" in calls[1].params["text"]
    mark = bot.server.mark()
    await press(bot, PATIENT, button(calls[1].params, "Stop sharing"), calls[1].result)
    assert [c.granted for c in bot.store.consent_history(PATIENT)] == [True, False]
    assert bot.store.consenting_chats() == []
    # ... and grants it again: the latest answer counts, the history keeps all three.
    status = (await bot.server.wait_for("editMessageText", to(PATIENT), since=mark)).params
    assert "Off since" in status["text"] and "yes (04 Dec 2026), no (04 Dec 2026)" in status["text"]
    await press(bot, PATIENT, button(status, "Share with my clinic"), calls[1].result)
    assert [c.granted for c in bot.store.consent_history(PATIENT)] == [True, False, True]
    assert bot.store.consenting_chats() == [PATIENT]

    # A patient who set up alone is never offered sharing; a forged button shares nothing.
    privacy = await say(bot, OTHER, "/privacy")
    assert "Sharing with your clinic" not in privacy["text"]
    answer = await press(bot, OTHER, "e:grant", bot.server.last_message(OTHER))
    assert answer.get("text") == texts.STALE_BUTTON
    assert bot.store.consent_history(OTHER) == []


async def test_reopening_ones_own_link_asks_the_open_question_again(bot: RunningBot) -> None:
    code = await make_link(bot)
    await open_link(bot, PATIENT, code, 4)
    # The patient left the consent question for the morning and taps the link again.
    _, intro, question, step = await open_link_calls(bot, PATIENT, code, 4)
    assert "starting" in intro.params["text"] and "May I share" in question.params["text"]
    assert "time zone" in step.params["text"].lower()
    assert (await open_link(bot, OTHER, code, 2))[1] == LINK_USED  # someone else: used
    await answer_consent(bot, question, "No, don't")
    assert [c.granted for c in bot.store.consent_history(PATIENT)] == [False]
    # Answered: a third tap says it was used, and that /plan shows the setup.
    assert (await open_link(bot, PATIENT, code, 2))[1] == LINK_USED
    draft = bot.store.get_draft(PATIENT)
    assert draft is not None and draft.plan_name == "standard"


async def test_a_patient_who_leaves_the_consent_question_still_sets_up_reminders(
    bot: RunningBot,
) -> None:
    code = await make_link(bot)
    _, _, _, step = await open_link_calls(bot, PATIENT, code, 4)
    mark = bot.server.mark()
    await press(bot, PATIENT, button(step.params, "London"), step.result)
    await bot.server.wait_for("editMessageText", to(PATIENT), since=mark)
    draft = bot.store.get_draft(PATIENT)
    assert draft is not None and draft.timezone == "Europe/London"
    # Nothing shared, nothing recorded: the question stays open until they answer it.
    assert bot.store.consent_history(PATIENT) == [] and not bot.store.has_consent(PATIENT)


async def test_reopening_before_answering_replace_asks_it_again(bot: RunningBot) -> None:
    mine = Regimen.from_plan(load_plans().plans["standard"], date(2026, 11, 1), time(21), "UTC")
    bot.store.save_regimen(PATIENT, mine, NOW)
    code = await make_link(bot)
    assert "Replace them" in (await open_link(bot, PATIENT, code, 2))[1]
    assert "Replace them" in (await open_link(bot, PATIENT, code, 2))[1]
    assert bot.store.get_draft(PATIENT) is None  # nothing replaced until they say so


async def test_a_link_opened_in_a_group_stays_unused(bot: RunningBot) -> None:
    code = await make_link(bot)
    group = -100123
    mark = bot.server.mark()
    bot.server.push_update(
        factories.command(
            f"/start@{bot.server.bot_username} {code}", user_id=PATIENT, chat_id=group
        )
    )
    calls = await bot.server.wait_for_all(
        "sendMessage", lambda c: c.params.get("chat_id") == group, count=2, since=mark
    )
    assert calls[1].params["text"] == LINK_PRIVATE
    assert bot.store.clinic_ref(group) is None and bot.store.clinic_ref(PATIENT) is None
    assert len(await open_link(bot, PATIENT, code, 4)) == 4  # still good in a private chat
    assert bot.store.clinic_ref(PATIENT) == "MRN 1234"


async def test_a_link_whose_plan_was_removed_lets_the_patient_pick_one(bot: RunningBot) -> None:
    code = await make_link(bot)
    services = services_of(bot)
    book = services.require_plans()
    services.plans = replace(book, plans={"gentle": book.plans["gentle"]})  # a reload dropped it
    _, intro, question, ask = await open_link_calls(bot, PATIENT, code, 4)
    assert "no longer offered here (standard)" in intro.params["text"]
    assert "gentle" in str(ask.params.get("reply_markup")).lower()  # the plans to choose from
    await answer_consent(bot, question, "No, don't")
    draft = bot.store.get_draft(PATIENT)
    assert draft is not None and draft.plan_name is None
    assert draft.start_date == date(2026, 12, 7)


async def test_an_expired_link(bot: RunningBot) -> None:
    code = await make_link(bot)
    services_of(bot).clock = lambda: NOW + timedelta(days=15)
    assert (await open_link(bot, PATIENT, code, 2))[1] == LINK_EXPIRED
    assert bot.store.clinic_ref(PATIENT) is None


async def test_a_chat_with_a_regimen_is_asked_before_it_is_replaced(bot: RunningBot) -> None:
    mine = Regimen.from_plan(load_plans().plans["standard"], date(2026, 11, 1), time(21), "UTC")
    bot.store.save_regimen(PATIENT, mine, NOW)
    code = await make_link(bot)
    texts_ = await open_link(bot, PATIENT, code, 2)
    assert "Replace them" in texts_[1]
    mark = bot.server.mark()
    await press(bot, PATIENT, button(bot.server.last_message(PATIENT) or {}, "Keep mine"))
    question = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    assert "May I share" in question.params["text"]
    await press(bot, PATIENT, button(question.params, "No, don't"), question.result)
    stored = bot.store.get_regimen(PATIENT)
    assert stored is not None and stored.regimen.start == date(2026, 11, 1)
    assert bot.store.get_draft(PATIENT) is None
    assert not bot.store.has_consent(PATIENT)
    assert bot.store.clinic_ref(PATIENT) == "MRN 1234"


async def test_a_patient_gets_nothing_from_any_staff_command_or_button(bot: RunningBot) -> None:
    commands = ["/staff", "/enrol standard 2026-12-07", "/broadcast", "/broadcast cancel",
                "/broadcasts", "/join", "/join abcdefabcdef"]  # fmt: skip
    buttons = ["x:inv:staff", "x:inv:admin", "x:rm:9002", "b:aud:all", "b:plan:standard",
               "b:now:", "b:sch:", "b:urg:", "b:cancel:", "b:stop:1"]  # fmt: skip
    for command in commands:
        assert (await say(bot, PATIENT, command))["text"] == texts.UNKNOWN_COMMAND
    anchor = await say(bot, PATIENT, "/help")
    for data in buttons:
        answer = await press(bot, PATIENT, data, bot.server.last_message(PATIENT) or anchor)
        assert answer.get("text") == texts.STALE_BUTTON
    entries = bot.store.audit_entries()
    assert [e.action for e in entries] == ["refused"] * (len(commands) + len(buttons))
    assert len({e.actor for e in entries}) == 1 and entries[0].actor.startswith("p-")
    assert bot.store.list_staff() == [] and bot.store.recent_broadcasts() == []
    assert bot.store.current_draft(PATIENT) is None


async def test_forget_keeps_the_audit_but_unlinks_the_patient(bot: RunningBot) -> None:
    code = await make_link(bot)
    await open_link(bot, PATIENT, code, 4)
    await say(bot, PATIENT, "/broadcast")  # refused: audited under a pseudonym
    pseudonym = bot.store.audit_entries()[-1].actor
    assert bot.store.chat_of_pseudonym(pseudonym) == PATIENT
    before = bot.store.audit_entries()
    reply = await say(bot, PATIENT, "/forget")
    mark = bot.server.mark()
    await press(bot, PATIENT, "f:yes", bot.server.last_message(PATIENT))
    await bot.server.wait_for("editMessageText", to(PATIENT), since=mark)
    assert "Delete now?" in reply["text"]
    assert bot.store.audit_entries() == before
    assert bot.store.chat_of_pseudonym(pseudonym) is None
    assert bot.store.clinic_ref(PATIENT) is None and bot.store.consent_history(PATIENT) == []
    assert bot.store.rows_about_chat(PATIENT) == 0
    # The chat id as a whole number (a random pseudonym may contain its digits).
    assert not re.search(rf"\b{PATIENT}\b", repr(bot.store.audit_entries()))


async def test_using_the_clinics_plan_asks_consent_and_starts_the_setup(bot: RunningBot) -> None:
    mine = Regimen.from_plan(load_plans().plans["standard"], date(2026, 11, 1), time(21), "UTC")
    bot.store.save_regimen(PATIENT, mine, NOW)
    code = await make_link(bot)
    await open_link(bot, PATIENT, code, 2)
    mark = bot.server.mark()
    await press(bot, PATIENT, button(bot.server.last_message(PATIENT) or {}, "Use the clinic"))
    question, step = await bot.server.wait_for_all("sendMessage", to(PATIENT), count=2, since=mark)
    assert "May I share" in question.params["text"]
    assert "time zone" in step.params["text"].lower()
    assert bot.store.get_draft(PATIENT) is not None
