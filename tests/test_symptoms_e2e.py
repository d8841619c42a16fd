"""Symptom check-ins, /history, /schedule's chart, /mydata and /forget end to end: the real
Application against the fake Bot API server (every call checked against the spec), with a
fixed clock; the dispatch is called with `now`, as the reminders' job does."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot import callbacks, render
from bot.dispatch import dispatch
from bot.sender import Sender
from knowledge import Engine, Status, load
from knowledge.loader import DEFAULT_PATH
from reminders import Regimen, load_plans
from store.models import CHAT_LINKED_TABLES
from tests.botharness import TOKEN, RunningBot, make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.fakebotapi.spec import UploadedFile
from tests.test_reminders_e2e import buttons, data_for, no_wait, sent_to, services_of, set_clock

pytestmark = pytest.mark.e2e

USER = 2101
BOOK = load_plans()
# The standard plan from 17 November steps up to 3 mg on 1 December; the 4th is three days in.
STEP_UP_START = date(2026, 11, 17)
DAY4_NINE = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # London, winter: 21:00
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # Telegram's sendPhoto limits
PHOTO_MAX_SIDES = 10_000
PHOTO_MAX_RATIO = 20


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")) as running:
            services_of(running).sender = Sender(running.app.bot, sleep=no_wait)
            set_clock(running, NOON)
            yield running
        server.assert_no_violations()


def enrol(bot: RunningBot, start: date = STEP_UP_START) -> None:
    bot.store.record_chat(USER, "private", NOON, started=True)
    regimen = Regimen.from_plan(BOOK.plans["standard"], start, time(21), "Europe/London")
    bot.store.save_regimen(USER, regimen, NOON)


async def command(bot: RunningBot, text: str, method: str = "sendMessage") -> Any:
    mark = bot.server.mark()
    bot.server.push_update(factories.command(text, user_id=USER))
    return await bot.server.wait_for(method, sent_to(USER), since=mark)


async def tap(
    bot: RunningBot, data: str, message: dict[str, Any], method: str = "editMessageText"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Press a button; (answerCallbackQuery params, the `method` call's params)."""
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, message, user_id=USER))
    answer = await bot.server.wait_for("answerCallbackQuery", since=mark)
    call = await bot.server.wait_for(method, since=mark)
    return answer.params, call.params


async def step_up_checkin(bot: RunningBot) -> Any:
    """Send the evening's reminder and its check-in; returns the check-in's sendMessage."""
    enrol(bot)
    set_clock(bot, DAY4_NINE)
    mark = bot.server.mark()
    report = await dispatch(services_of(bot), DAY4_NINE)
    assert report.sent == 1 and report.checkins == {"sent": 1}
    reminder, checkin = await bot.server.wait_for_all(
        "sendMessage", sent_to(USER), count=2, since=mark
    )
    assert "Week 3 of 4: 3 mg" in reminder.params["text"]
    # The reminder rings; the check-in just after it comes silently: one alert an evening.
    assert not reminder.params.get("disable_notification")
    assert checkin.params["disable_notification"] is True
    return checkin


async def test_a_checkin_after_a_step_up_double_tap_and_a_severe_side_effect(
    bot: RunningBot,
) -> None:
    checkin = await step_up_checkin(bot)
    assert "How is 3 mg going?" in checkin.params["text"]
    assert [label for label, _ in buttons(checkin.params)] == [
        "Vivid dreams",
        "Trouble sleeping",
        "Nausea or bloating",
        "Headache or dizziness",
        "Irritability or mood change",
        "None of these",
    ]
    (row,) = bot.store.checkins_for_chat(USER)
    assert (row.kind, row.local_date, row.delivery) == ("side_effects", date(2026, 12, 4), "sent")
    assert row.message_id == checkin.result["message_id"]
    # Never two: the next ticks of the same evening send nothing more.
    mark = bot.server.mark()
    later = await dispatch(services_of(bot), DAY4_NINE + timedelta(seconds=45))
    assert later.checkins == {} and later.sent == 0
    assert not [c for c in bot.server.calls[mark:] if c.method == "sendMessage"]

    message = checkin.result
    _, severity = await tap(bot, data_for(checkin.params, "Nausea"), message)
    assert "How bad is the nausea or bloating?" in severity["text"]
    assert [label for label, _ in buttons(severity)] == [
        "🟢 Mild",
        "🟠 Bothering me",
        "🔴 Severe",
        "← Back",
    ]
    mild = data_for(severity, "Mild")
    answer, listed = await tap(bot, mild, message)
    assert answer["text"] == "Recorded"
    assert "Nausea or bloating: Mild" in listed["text"]
    # The answered item keeps its button, showing the answer, so that it can be changed.
    assert "🟢 Nausea or bloating: Mild" in [label for label, _ in buttons(listed)]
    # A double tap (the same button again) records nothing more.
    again, _ = await tap(bot, mild, message)
    assert again["text"] == "Already recorded"
    # Changing it: the same row, updated in place.
    _, severity = await tap(bot, data_for(listed, "Nausea"), message)
    assert "Recorded so far: Mild." in severity["text"]
    changed, listed = await tap(bot, data_for(severity, "Bothering"), message)
    assert changed["text"] == "Changed"
    assert "Nausea or bloating: Bothering me" in listed["text"]
    answers = bot.store.answers_for_checkin(row.id)
    assert [(a.item, a.severity) for a in answers] == [("nausea", "bothering")]
    assert bot.store.events_for_chat(USER, ["severe-side-effect"]) == []

    # Severe: recorded, an event for the clinic, and the clinic's contact (no dose advice).
    _, severity = await tap(bot, data_for(listed, "Headache"), message)
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(data_for(severity, "Severe"), message, user_id=USER)
    )
    contact = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    engine = services_of(bot).engine
    assert engine.ask("I have a severe side effect on LDN: headache or dizziness").status is not (
        Status.SAFETY
    )
    text = contact.params["text"]
    assert "severe" in text and engine.clinic.placeholders()["clinic"] in text
    assert "Don't change your dose on your own" in text
    assert "don't count on me to pass it on" in text  # no false promise that the clinic knows
    (event,) = bot.store.events_for_chat(USER, ["severe-side-effect"])
    assert event.ref == f"{row.id}:headache"
    answers = bot.store.answers_for_checkin(row.id)
    assert [(a.item, a.severity) for a in answers] == [
        ("nausea", "bothering"),
        ("headache", "severe"),
    ]
    # A second severe tap: the guidance again (never lost to a retry), but no second event.
    mark = bot.server.mark()
    again, _ = await tap(bot, data_for(severity, "Severe"), message)
    assert again["text"] == "Already recorded"
    repeated = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert repeated.params["text"] == text
    assert len(bot.store.events_for_chat(USER, ["severe-side-effect"])) == 1
    # Corrected to mild and back to severe: still one event for the clinic.
    changed, _ = await tap(bot, data_for(severity, "Mild"), message)
    assert changed["text"] == "Changed"
    mark = bot.server.mark()
    await tap(bot, data_for(severity, "Severe"), message)
    await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert len(bot.store.events_for_chat(USER, ["severe-side-effect"])) == 1

    answer, done = await tap(bot, callbacks.symptom(row.id, "k"), message)
    assert "Headache or dizziness: Severe" in done["text"] and "reply_markup" not in done


async def test_a_severe_side_effect_a_safety_rule_matches_gets_the_safety_answer(
    tmp_path: Path,
) -> None:
    """With a clinic's rule that reads severe dizziness as a severe reaction, the tap gets
    that rule's safety answer (the engine decides, as for a typed question)."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_PATH, knowledge)
    rules = knowledge / "safety.yaml"
    anchor = "      - '\\banaphyla\\w*'\n"
    assert anchor in rules.read_text(encoding="utf-8")
    rules.write_text(
        rules.read_text(encoding="utf-8").replace(
            anchor, anchor + "      - '\\bsevere side effect on ldn: headache\\b'\n", 1
        ),
        encoding="utf-8",
    )
    engine = Engine(load(knowledge))
    expected = engine.ask("I have a severe side effect on LDN: headache or dizziness")
    assert (expected.status, expected.entry_id) == (Status.SAFETY, "severe-reaction")
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, tmp_path / "bot.sqlite3")
        async with running_bot(server, config, engine=engine) as running:
            services_of(running).sender = Sender(running.app.bot, sleep=no_wait)
            checkin = await step_up_checkin(running)
            _, severity = await tap(running, data_for(checkin.params, "Headache"), checkin.result)
            mark = server.mark()
            server.push_update(
                factories.callback_query(data_for(severity, "Severe"), checkin.result, user_id=USER)
            )
            answer = await server.wait_for("sendMessage", sent_to(USER), since=mark)
            assert answer.params["text"] == render.reply_html(expected)[0]
            (event,) = running.store.events_for_chat(USER)
            assert event.kind == "severe-side-effect"
        server.assert_no_violations()


async def test_a_typed_reply_to_a_checkin_goes_through_the_engine(bot: RunningBot) -> None:
    checkin = await step_up_checkin(bot)
    question = "I took too many tablets by mistake"
    expected = services_of(bot).engine.ask(question)
    assert expected.status is Status.SAFETY
    mark = bot.server.mark()
    bot.server.push_update(
        factories.private_message(question, user_id=USER, reply_to=checkin.result)
    )
    call = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert call.params["text"] == render.reply_html(expected)[0]


async def test_a_checkin_telegram_refuses_is_recorded_and_never_retried(bot: RunningBot) -> None:
    enrol(bot)
    set_clock(bot, DAY4_NINE)
    # The reminder goes out; the check-in after it meets a 400 on every attempt.
    bot.server.fail_next(
        "sendMessage", 400, "Bad Request: nope", times=5, when=lambda p: "going?" in p["text"]
    )
    report = await dispatch(services_of(bot), DAY4_NINE)
    assert report.sent == 1 and report.checkins == {"not_sent": 1}
    (row,) = bot.store.checkins_for_chat(USER)
    assert row.delivery == "not_sent" and row.message_id is None
    later = await dispatch(services_of(bot), DAY4_NINE + timedelta(minutes=1))
    assert later.checkins == {}
    sends = [c for c in bot.server.calls_to("sendMessage") if "going?" in c.params["text"]]
    assert len(sends) == 1  # refused once, never tried again


async def test_the_weekly_pain_score(bot: RunningBot) -> None:
    enrol(bot, start=date(2026, 11, 28))  # 4 December is the plan's 7th evening
    set_clock(bot, DAY4_NINE)
    mark = bot.server.mark()
    report = await dispatch(services_of(bot), DAY4_NINE)
    assert report.checkins == {"sent": 1}
    _, pain = await bot.server.wait_for_all("sendMessage", sent_to(USER), count=2, since=mark)
    assert "weekly pain score" in pain.params["text"]
    assert [label for label, _ in buttons(pain.params)] == [str(n) for n in range(11)]
    answer, edit = await tap(bot, data_for(pain.params, "6"), pain.result)
    assert answer["text"] == "Recorded" and "Pain: <b>6/10</b>" in edit["text"]
    assert "reply_markup" not in edit
    again, _ = await tap(bot, data_for(pain.params, "6"), pain.result)
    assert again["text"] == "Already recorded"
    # A quick second tap on another score (the old keyboard) corrects it: still one row.
    fixed, _ = await tap(bot, data_for(pain.params, "7"), pain.result)
    assert fixed["text"] == "Changed"
    assert [a.score for a in bot.store.checkin_answers_for_chat(USER)] == [7]


async def test_an_evening_with_both_checkins_sends_one_message(bot: RunningBot) -> None:
    """Three days into 3 mg is also the plan's 7th evening (a pain score's): one message,
    the side effects first, then the pain score in the same message."""
    enrol(bot)
    bot.store.save_regimen(
        USER,
        Regimen.from_plan(BOOK.plans["standard"], date(2026, 11, 14), time(21), "Europe/London"),
        NOON,
    )
    evening = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # the 21st evening; 3 mg from the 28th
    set_clock(bot, evening)
    services = services_of(bot)
    reminders = dataclasses.replace(services.config.reminders, checkin_after_days=6)
    services.config = dataclasses.replace(services.config, reminders=reminders)
    mark = bot.server.mark()
    report = await dispatch(services, evening)
    assert report.checkins == {"sent": 2}  # two check-ins ...
    _, checkin = await bot.server.wait_for_all("sendMessage", sent_to(USER), count=2, since=mark)
    assert not [c for c in bot.server.calls[mark:] if c.method == "sendMessage"][2:]  # one message
    assert "How is 3 mg going?" in checkin.params["text"]
    assert "weekly pain score" in checkin.params["text"]
    rows = bot.store.checkins_for_chat(USER)
    assert sorted(r.kind for r in rows) == ["pain", "side_effects"]
    assert {r.message_id for r in rows} == {checkin.result["message_id"]}
    message = checkin.result
    _, pain = await tap(bot, data_for(checkin.params, "None of these"), message)
    assert "None of these" in pain["text"] and "How has your pain been" in pain["text"]
    assert [label for label, _ in buttons(pain)] == [str(n) for n in range(11)]
    answer, done = await tap(bot, data_for(pain, "3"), message)
    assert answer["text"] == "Recorded" and "reply_markup" not in done
    assert "None of these" in done["text"] and "Pain: <b>3/10</b>" in done["text"]
    answers = bot.store.checkin_answers_for_chat(USER)
    assert sorted((a.kind, a.item, a.score) for a in answers) == [
        ("pain", "pain", 3),
        ("side_effects", "none", None),
    ]


async def test_checkins_can_be_turned_off_and_on(bot: RunningBot) -> None:
    enrol(bot)
    shown = await command(bot, "/checkins")
    assert "Symptom check-ins are <b>on</b>" in shown.params["text"]
    off = await command(bot, "/checkins off")
    assert "are off" in off.params["text"]
    set_clock(bot, DAY4_NINE)
    report = await dispatch(services_of(bot), DAY4_NINE)
    assert report.sent == 1 and report.checkins == {}
    on = await command(bot, "/checkins on")
    assert "are on" in on.params["text"] and bot.store.checkins_enabled(USER)


async def test_history_counts_what_the_patient_could_answer(bot: RunningBot) -> None:
    enrol(bot, start=date(2026, 11, 28))
    services = services_of(bot)
    outcomes = {1: "taken", 2: "taken", 3: "skipped", 5: "taken"}
    for day in range(1, 7):
        if day == 4:
            continue  # the bot was down all evening: recorded not sent, never missed
        now = datetime(2026, 12, day, 21, 0, tzinfo=UTC)
        set_clock(bot, now)
        await dispatch(services, now)
        evening = bot.store.evening_for(USER, date(2026, 12, day))
        assert evening is not None
        if day in outcomes:
            bot.store.record_outcome(USER, evening.id, outcomes[day], now)  # type: ignore[arg-type]
    # 7 Dec: the process died mid-send; the reminder may or may not have arrived (unknown).
    seventh = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    bot.store.materialise_due(seventh, timedelta(hours=2))
    assert [e.evening for e in bot.store.claim_reminders(seventh, timedelta(hours=2))] == [
        date(2026, 12, 7)
    ]
    assert bot.store.recover_sending(seventh + timedelta(seconds=1)) == 1
    noon = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    set_clock(bot, noon)
    await dispatch(services, noon)  # 6 Dec becomes missed; 7 Dec stays without an outcome
    # 4 December was the plan's 7th evening, a pain score's; with no reminder, none was asked.
    assert bot.store.checkins_for_chat(USER) == []
    call = await command(bot, "/history")
    text = call.params["text"]
    lines = text.splitlines()
    assert "Mon 7 Dec · 1.5 mg · ❔ no answer (not counted)" in lines
    assert "Sun 6 Dec · 1.5 mg · ❌ missed" in lines
    assert "Sat 5 Dec · 1.5 mg · ✅ taken" in lines
    assert "Fri 4 Dec · 1.5 mg · ⚪ no reminder sent" in lines
    assert "Thu 3 Dec · 1.5 mg · ⏭ skipped" in lines
    # Reminders began on 1 December (set up that day). The outage on the 4th and the unknown
    # delivery on the 7th do not count against the patient. Last 7 days (2-8 Dec): 2, 3, 5
    # and 6 count, 2 taken; last 30: 1-3, 5 and 6, 3 taken.
    assert "last 7 days: <b>50%</b> (2 of 4)" in text
    assert "last 30 days: <b>60%</b> (3 of 5)" in text


async def test_schedule_sends_a_chart_photo_within_telegrams_limits(bot: RunningBot) -> None:
    enrol(bot, start=date(2026, 11, 28))
    set_clock(bot, DAY4_NINE)
    await dispatch(services_of(bot), DAY4_NINE)
    (pain,) = bot.store.checkins_for_chat(USER)
    assert bot.store.record_checkin_answer(USER, pain.id, "pain", DAY4_NINE, score=5)
    set_clock(bot, DAY4_NINE + timedelta(hours=15))
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/schedule", user_id=USER))
    text = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    photo = await bot.server.wait_for("sendPhoto", sent_to(USER), since=mark)
    assert "1.5 mg" in text.params["text"]
    upload = photo.params["photo"]
    assert isinstance(upload, UploadedFile) and upload.body.startswith(b"\x89PNG\r\n\x1a\n")
    assert upload.size <= PHOTO_MAX_BYTES
    with Image.open(io.BytesIO(upload.body)) as image:
        image.load()  # decodes every pixel: a truncated or corrupt PNG raises here
        width, height = image.size
    assert width + height <= PHOTO_MAX_SIDES
    assert max(width, height) / min(width, height) <= PHOTO_MAX_RATIO
    assert width >= 1000  # large enough to read on a phone's screen
    assert "taken" in photo.params["caption"]


async def test_mydata_sends_everything_stored_as_json(bot: RunningBot) -> None:
    checkin = await step_up_checkin(bot)
    _, severity = await tap(bot, data_for(checkin.params, "Vivid"), checkin.result)
    await tap(bot, data_for(severity, "Mild"), checkin.result)
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/mydata", user_id=USER))
    call = await bot.server.wait_for("sendDocument", sent_to(USER), since=mark)
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile) and upload.filename.endswith(".json")
    exported = json.loads(upload.body)
    assert exported["format"] == "ldn-bot-mydata/1" and exported["chat_id"] == USER
    tables = exported["tables"]
    # Every table that /forget covers, with every column.
    assert set(tables) == {link.table.name for link in CHAT_LINKED_TABLES}
    for link in CHAT_LINKED_TABLES:
        for row in tables[link.table.name]:
            assert set(row) == set(link.table.c.keys())
    assert [r["item"] for r in tables["checkin_answers"]] == ["vivid_dreams"]
    assert [(r["kind"], r["local_date"]) for r in tables["checkins"]] == [
        ("side_effects", "2026-12-04")
    ]
    assert tables["regimens"][0]["plan_name"] == "standard"
    assert any(r["evening"] == "2026-12-04" for r in tables["evenings"])
    assert tables["chats"][0]["chat_id"] == USER


async def test_mydata_in_a_group_points_to_the_private_chat(bot: RunningBot) -> None:
    group = -100123
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/mydata", user_id=USER, chat_id=group))
    call = await bot.server.wait_for("sendMessage", since=mark)
    assert call.params["chat_id"] == group and "private chat" in call.params["text"]
    assert not bot.server.calls_to("sendDocument")


async def test_forget_deletes_every_checkin_row(bot: RunningBot) -> None:
    checkin = await step_up_checkin(bot)
    _, severity = await tap(bot, data_for(checkin.params, "mood"), checkin.result)
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(data_for(severity, "Severe"), checkin.result, user_id=USER)
    )
    await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert bot.store.checkin_answers_for_chat(USER) and bot.store.events_for_chat(USER)
    confirm = await command(bot, "/forget")
    await tap(bot, callbacks.forget(True), confirm.result)
    assert bot.store.rows_about_chat(USER) == 0
    assert bot.store.checkins_for_chat(USER) == []
    assert bot.store.checkin_answers_for_chat(USER) == []
    assert bot.store.events_for_chat(USER) == []
    # The old check-in's buttons are stale now.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(data_for(checkin.params, "Vivid"), checkin.result, user_id=USER)
    )
    stale = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert "no longer works" in stale.params["text"]


async def test_a_patients_evening_is_their_local_evening(bot: RunningBot) -> None:
    """New York: the reminder of Friday 4 December goes at 21:00 local (02:00 UTC on the
    5th); a tap at 01:00 local and /history at 01:30 still belong to Friday's evening."""
    bot.store.record_chat(USER, "private", NOON, started=True)
    regimen = Regimen.from_plan(BOOK.plans["standard"], STEP_UP_START, time(21), "America/New_York")
    bot.store.save_regimen(USER, regimen, NOON)
    nine = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    set_clock(bot, nine)
    mark = bot.server.mark()
    report = await dispatch(services_of(bot), nine)
    assert report.checkins == {"sent": 1}
    _, checkin = await bot.server.wait_for_all("sendMessage", sent_to(USER), count=2, since=mark)
    (row,) = bot.store.checkins_for_chat(USER)
    assert row.local_date == date(2026, 12, 4)
    set_clock(bot, datetime(2026, 12, 5, 6, 0, tzinfo=UTC))  # 01:00 in New York
    await tap(bot, data_for(checkin.params, "None of these"), checkin.result)
    (answer,) = bot.store.checkin_answers_for_chat(USER)
    assert answer.local_date == date(2026, 12, 4)
    set_clock(bot, datetime(2026, 12, 5, 6, 30, tzinfo=UTC))
    lines = (await command(bot, "/history")).params["text"].splitlines()
    assert lines[1] == "Fri 4 Dec · 3 mg · ⏳ not answered yet"
    assert "Fri 4 Dec: None of these" in lines
