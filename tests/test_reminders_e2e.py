"""Reminders end to end: the real Application against the fake Bot API server, a fixed clock.

The dispatch is called directly with `now` (what the JobQueue job does with the clock), so no
test waits for a scheduler. The sender's retries sleep through an injected no-op.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.config import RemindersConfig
from bot.context import BotContext, Services
from bot.dispatch import dispatch
from bot.sender import Sender
from reminders import Regimen, load_plans
from tests.botharness import TOKEN, RunningBot, make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories

pytestmark = pytest.mark.e2e

USER = 2001
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # London: Tue 1 Dec, noon
NINE = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
BOOK = load_plans()


async def no_wait(_: float) -> None:
    return None


def services_of(bot: RunningBot) -> Services:
    services = bot.app.bot_data.services
    assert services is not None
    return services


def set_clock(bot: RunningBot, now: datetime) -> None:
    services_of(bot).clock = lambda: now


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")) as running:
            services = services_of(running)
            services.sender = Sender(running.app.bot, sleep=no_wait)
            set_clock(running, NOON)
            yield running
        server.assert_no_violations()


def sent_to(chat_id: int) -> Any:
    return lambda call: call.params.get("chat_id") == chat_id


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def data_for(params: dict[str, Any], label_part: str) -> str:
    """The button whose label is `label_part`, else the first that contains it."""
    found = buttons(params)
    exact = [data for label, data in found if label == label_part]
    return exact[0] if exact else next(data for label, data in found if label_part in label)


async def command(bot: RunningBot, text: str) -> dict[str, Any]:
    mark = bot.server.mark()
    bot.server.push_update(factories.command(text, user_id=USER))
    return (await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)).params


async def press(
    bot: RunningBot, data: str, method: str, message: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Press a button; returns (answerCallbackQuery params, the `method` call's params)."""
    target = message or bot.server.last_message(USER)
    assert target is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.callback_query(data, target, user_id=USER))
    answer = await bot.server.wait_for("answerCallbackQuery", since=mark)
    call = await bot.server.wait_for(method, since=mark)
    return answer.params, call.params


async def reply(bot: RunningBot, text: str, count: int = 1) -> list[dict[str, Any]]:
    """Type `text` as a reply to the bot's last message (a ForceReply prompt)."""
    prompt = bot.server.last_message(USER)
    assert prompt is not None
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(text, user_id=USER, reply_to=prompt))
    calls = await bot.server.wait_for_all("sendMessage", sent_to(USER), count=count, since=mark)
    return [c.params for c in calls]


def enrol(bot: RunningBot, start: date = date(2026, 12, 1), at: time = time(21)) -> None:
    regimen = Regimen.from_plan(BOOK.plans["standard"], start, at, "Europe/London")
    bot.store.save_regimen(USER, regimen, NOON)


async def test_the_whole_plan_conversation(bot: RunningBot) -> None:
    first = await command(bot, "/plan")
    assert "Which titration plan" in first["text"]
    _, zone = await press(bot, data_for(first, "Standard"), "editMessageText")
    assert "time zone" in zone["text"].lower()

    # A place typed with a typo: close names are suggested, and the question asked again.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(
            data_for(zone, "Somewhere else"), bot.server.last_message(USER) or {}, user_id=USER
        )
    )
    prompt = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert prompt.params["reply_markup"]["force_reply"] is True
    suggestion, again = await reply(bot, "Lodnon", count=2)
    assert ("Europe/London", "p:zone:Europe/London") in buttons(suggestion)
    assert "Type your city" in again["text"]
    (start,) = await reply(bot, "London")
    assert "Start date" in start["text"]
    assert data_for(start, "Today") == "p:start:2026-12-01"

    # A date typed badly, then well.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(
            data_for(start, "Another date"), bot.server.last_message(USER) or {}, user_id=USER
        )
    )
    await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    (bad,) = await reply(bot, "next blue moon")
    assert "couldn't read that as a date" in bad["text"]
    (when,) = await reply(bot, "30 Nov")
    assert "Reminder time" in when["text"]

    # A time typed badly, then a suggested one from the buttons.
    mark = bot.server.mark()
    bot.server.push_update(
        factories.callback_query(
            data_for(when, "Another time"), bot.server.last_message(USER) or {}, user_id=USER
        )
    )
    await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    (bad_time,) = await reply(bot, "25:99")
    assert "couldn't read that as a time" in bad_time["text"]
    (preview,) = await reply(bot, "9:30pm")
    assert "Please check your reminders" in preview["text"]
    assert "21:30 (Europe/London)" in preview["text"]
    assert "Mon 30 Nov – Sun 13 Dec: <b>1.5 mg</b>" in preview["text"]
    assert bot.store.get_regimen(USER) is None  # nothing saved before Confirm

    _, done = await press(bot, data_for(preview, "Confirm"), "editMessageText")
    assert "All set" in done["text"] and "1.5 mg" in done["text"]
    stored = bot.store.get_regimen(USER)
    assert stored is not None
    assert (stored.regimen.plan_name, stored.regimen.start, stored.regimen.at) == (
        "standard",
        date(2026, 11, 30),
        time(21, 30),
    )
    assert stored.regimen.timezone == "Europe/London"
    assert bot.store.get_draft(USER) is None

    # /plan again shows the regimen and edits one part of it.
    shown = await command(bot, "/plan")
    assert "Your plan: Standard" in shown["text"]
    _, time_question = await press(bot, data_for(shown, "Change time"), "editMessageText")
    assert "Reminder time" in time_question["text"]
    _, preview = await press(bot, data_for(time_question, "22:00"), "editMessageText")
    _, done = await press(bot, data_for(preview, "Confirm"), "editMessageText")
    stored = bot.store.get_regimen(USER)
    assert stored is not None and stored.regimen.at == time(22)
    assert stored.regimen.start == date(2026, 11, 30)


async def test_a_half_finished_setup_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, db)
        async with running_bot(server, config) as first:
            set_clock(first, NOON)
            question = await command(first, "/plan")
            await press(first, data_for(question, "Gentle"), "editMessageText")
        async with running_bot(server, config) as second:
            set_clock(second, NOON)
            again = await command(second, "/plan")
            assert "carry on where we left off" in again["text"]
            assert "time zone" in again["text"].lower()
            draft = second.store.get_draft(USER)
            assert draft is not None and draft.plan_name == "gentle"
        server.assert_no_violations()


async def test_a_reminder_and_its_buttons(bot: RunningBot) -> None:
    enrol(bot)
    services = services_of(bot)
    mark = bot.server.mark()
    report = await dispatch(services, NINE)
    assert report.sent == 1
    call = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "Week 1 of 4: 1.5 mg" in call.params["text"]
    labels = [label for label, _ in buttons(call.params)]
    assert labels == ["✅ Taken", "⏰ Snooze 30 min", "Skip tonight"]
    (evening,) = bot.store.evenings_for_chat(USER)
    assert evening.delivery == "sent" and evening.message_id == call.result["message_id"]
    # A second look at the same moment sends nothing.
    assert (await dispatch(services, NINE + timedelta(seconds=45))).sent == 0

    first_message = bot.server.last_message(USER)
    answer, edit = await press(bot, data_for(call.params, "Taken"), "editMessageText")
    assert answer["text"] == "Recorded"
    assert "Recorded: taken" in edit["text"] and "reply_markup" not in edit
    # A double tap (on the message as it was) logs once.
    mark = bot.server.mark()
    assert first_message is not None
    bot.server.push_update(
        factories.callback_query(data_for(call.params, "Taken"), first_message, user_id=USER)
    )
    again = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert "Already recorded" in again.params["text"]
    (evening,) = bot.store.evenings_for_chat(USER)
    assert evening.outcome == "taken"

    # Tomorrow's reminder; an old reminder's button logs against its own evening.
    tomorrow = NINE + timedelta(days=1)
    set_clock(bot, tomorrow)
    mark = bot.server.mark()
    await dispatch(services, tomorrow)
    second = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    # The day after, that reminder's Skip (on an old message now) still counts for its evening.
    after = NINE + timedelta(days=2)
    await dispatch(services, after)
    set_clock(bot, after + timedelta(minutes=5))
    answer, edit = await press(
        bot, data_for(second.params, "Skip"), "editMessageText", message=second.result
    )
    assert "Recorded: skipped" in edit["text"] and "ask your clinic" in edit["text"]
    assert edit["message_id"] == second.result["message_id"]
    outcomes = {e.evening: e.outcome for e in bot.store.evenings_for_chat(USER)}
    assert outcomes == {
        date(2026, 12, 1): "taken",
        date(2026, 12, 2): "skipped",
        date(2026, 12, 3): "none",
    }


async def test_snooze_then_one_nudge_then_missed(bot: RunningBot) -> None:
    enrol(bot)
    services = services_of(bot)
    await dispatch(services, NINE)
    reminder = bot.server.calls_to("sendMessage")[-1].params
    set_clock(bot, NINE + timedelta(minutes=1))
    answer, edit = await press(bot, data_for(reminder, "Snooze"), "editMessageText")
    assert answer["text"] == "I'll remind you again at 21:31."
    assert [label for label, _ in buttons(edit)] == ["✅ Taken", "Skip tonight"]
    mark = bot.server.mark()
    await dispatch(services, NINE + timedelta(minutes=30))
    assert not [c for c in bot.server.calls[mark:] if c.method == "sendMessage"]
    await dispatch(services, NINE + timedelta(minutes=31))
    again = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "reminder again" in again.params["text"]

    # Tomorrow nothing is tapped: one nudge an hour later, then missed when the day starts.
    tomorrow = NINE + timedelta(days=1)
    await dispatch(services, tomorrow)
    mark = bot.server.mark()
    await dispatch(services, tomorrow + timedelta(minutes=61))
    await dispatch(services, tomorrow + timedelta(minutes=120))
    nudges = [c for c in bot.server.calls[mark:] if c.method == "sendMessage"]
    assert len(nudges) == 1 and "Just checking in" in nudges[0].params["text"]
    await dispatch(services, datetime(2026, 12, 3, 4, 0, tzinfo=UTC))
    outcomes = {e.evening: e.outcome for e in bot.store.evenings_for_chat(USER)}
    assert outcomes == {date(2026, 12, 1): "missed", date(2026, 12, 2): "missed"}


async def test_a_step_up_offers_to_stay_and_records_the_hold(bot: RunningBot) -> None:
    enrol(bot, start=date(2026, 11, 17))  # tonight is day 15: 3 mg
    services = services_of(bot)
    mark = bot.server.mark()
    await dispatch(services, NINE)
    call = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "Week 3 of 4: 3 mg" in call.params["text"]
    assert "steps up</b> from 1.5 mg to 3 mg" in call.params["text"]
    set_clock(bot, NINE + timedelta(minutes=2))
    answer, edit = await press(
        bot, data_for(call.params, "Stay on my current dose"), "editMessageText"
    )
    assert answer["text"] == "Staying on 1.5 mg"
    assert "tell your clinic" in edit["text"]
    assert "Stay on my current dose" not in [label for label, _ in buttons(edit)]
    (event,) = bot.store.events_for_chat(USER, kinds={"hold"})
    assert event.ref == "2026-12-01:0"
    stored = bot.store.get_regimen(USER)
    assert stored is not None
    tonight = stored.regimen.tonight(date(2026, 12, 1))
    assert tonight is not None and tonight.dose_mg == Decimal("1.5")
    up = stored.regimen.tonight(date(2026, 12, 8))
    assert up is not None and up.step_up and up.dose_mg == Decimal("3")
    # /schedule shows the moved steps.
    text = (await command(bot, "/schedule"))["text"]
    assert "Tue 8 Dec – " in text and "you are here" in text


async def test_blocked_and_server_errors_are_recorded_not_missed(bot: RunningBot) -> None:
    for chat in (USER, USER + 1, USER + 2):
        regimen = Regimen.from_plan(BOOK.plans["standard"], date(2026, 12, 1), time(21), "UTC")
        bot.store.save_regimen(chat, regimen, NOON)
    bot.server.fail_next("sendMessage", 403, when=lambda p: p.get("chat_id") == USER)
    bot.server.fail_next("sendMessage", 500, times=2, when=lambda p: p.get("chat_id") == USER + 1)
    bot.server.fail_next("sendMessage", 502, times=50, when=lambda p: p.get("chat_id") == USER + 2)
    report = await dispatch(services_of(bot), NINE)
    assert report.deliveries == {"blocked": 1, "sent": 1, "not_sent": 1}
    deliveries = {c: bot.store.evenings_for_chat(c)[0].delivery for c in (USER, USER + 1, USER + 2)}
    assert deliveries == {USER: "blocked", USER + 1: "sent", USER + 2: "not_sent"}
    assert (await dispatch(services_of(bot), NINE + timedelta(minutes=1))).deliveries == {}
    await dispatch(services_of(bot), NINE + timedelta(hours=8))
    outcomes = {c: bot.store.evenings_for_chat(c)[0].outcome for c in (USER, USER + 1, USER + 2)}
    assert outcomes == {USER: "none", USER + 1: "missed", USER + 2: "none"}


async def test_a_restart_mid_dispatch_sends_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    async with FakeBotApi(token=TOKEN) as server:
        config = make_config(server, db)
        async with running_bot(server, config) as first:
            for chat in range(USER, USER + 4):
                regimen = Regimen.from_plan(
                    BOOK.plans["standard"], date(2026, 12, 1), time(21), "UTC"
                )
                first.store.save_regimen(chat, regimen, NOON)
            first.store.materialise_due(NINE, timedelta(hours=2))
            claimed = first.store.claim_reminders(NINE, timedelta(hours=2), limit=2)
            assert len(claimed) == 2  # claimed, then the process dies before sending them
        async with running_bot(server, config) as second:
            mark = server.mark()
            report = await dispatch(services_of(second), NINE + timedelta(minutes=2))
            assert report.recovered == 2 and report.sent == 2
            sent = [c.params["chat_id"] for c in server.calls[mark:] if c.method == "sendMessage"]
            assert sorted(sent) == sorted(set(range(USER, USER + 4)) - {c.chat_id for c in claimed})
            assert (await dispatch(services_of(second), NINE + timedelta(minutes=3))).sent == 0
            unknown = [c for c in range(USER, USER + 4)
                       if second.store.evenings_for_chat(c)[0].delivery == "unknown"]  # fmt: skip
            assert sorted(unknown) == sorted(c.chat_id for c in claimed)
        server.assert_no_violations()


async def test_the_grace_window_on_start(bot: RunningBot) -> None:
    enrol(bot)
    services = services_of(bot)
    services.config = replace(services.config, reminders=RemindersConfig(grace_minutes=30))
    report = await dispatch(services, NINE + timedelta(minutes=31))
    assert report.sent == 0 and report.created == 1
    (evening,) = bot.store.evenings_for_chat(USER)
    assert (evening.delivery, evening.note) == ("not_sent", "late")


async def test_today_pause_resume_stop_time_timezone(bot: RunningBot) -> None:
    assert "/plan" in (await command(bot, "/today"))["text"]
    enrol(bot)
    today = await command(bot, "/today")
    assert "Tonight (Tue 1 Dec): Week 1 of 4, 1.5 mg" in today["text"]
    menu = await command(bot, "/pause")
    assert "calendar keeps running" in menu["text"]
    _, paused = await press(bot, data_for(menu, "3 days"), "editMessageText")
    assert "until Fri 4 Dec" in paused["text"] and "clinic" in paused["text"]
    report = await dispatch(services_of(bot), NINE)
    assert report.sent == 0
    assert "paused" in (await command(bot, "/today"))["text"]
    resumed = await command(bot, "/resume")
    assert "back on" in resumed["text"] and "Wednesday 2 December 2026" in resumed["text"]
    menu = await command(bot, "/pause")
    _, forever = await press(bot, data_for(menu, "Until I /resume"), "editMessageText")
    assert "until you send /resume" in forever["text"]
    stopped = await command(bot, "/stop")
    assert "stopped" in stopped["text"]
    stored = bot.store.get_regimen(USER)
    assert stored is not None and stored.next_due_at is None
    await command(bot, "/resume")
    assert "21:00" in (await command(bot, "/time"))["text"]
    assert "couldn't read" in (await command(bot, "/time soon"))["text"]
    changed = await command(bot, "/time 22:15")
    assert "22:15" in changed["text"]
    zone = await command(bot, "/timezone new york")
    assert "America/New_York" in zone["text"]
    typo = await command(bot, "/timezone Amerca/Chicgo")
    assert "America/Chicago" in typo["text"]
    stored = bot.store.get_regimen(USER)
    assert stored is not None
    assert (stored.regimen.at, stored.regimen.timezone) == (time(22, 15), "America/New_York")


async def test_forget_leaves_no_reminder_row(bot: RunningBot) -> None:
    await command(bot, "/start")
    enrol(bot)
    await dispatch(services_of(bot), NINE)
    bot.store.save_draft(USER, "time", NINE, plan_name="gentle")
    bot.store.record_event(USER, "hold", NINE, ref="x")
    assert bot.store.rows_about_chat(USER) >= 5
    confirm = await command(bot, "/forget")
    assert "reminder plan" in confirm["text"]
    await press(
        bot,
        data_for(confirm, "Yes, delete my data"),
        "editMessageText",
    )
    assert bot.store.rows_about_chat(USER) == 0
    assert bot.store.get_regimen(USER) is None and bot.store.evenings_for_chat(USER) == []


async def test_the_job_is_scheduled_and_runs_the_dispatch(bot: RunningBot) -> None:
    assert bot.app.job_queue is not None
    (job,) = bot.app.job_queue.get_jobs_by_name("reminders")
    assert job.trigger.interval_length == RemindersConfig().tick_seconds  # type: ignore[attr-defined]
    enrol(bot)
    set_clock(bot, NINE)
    mark = bot.server.mark()
    await job.callback(BotContext.from_job(job, bot.app))
    call = await bot.server.wait_for("sendMessage", sent_to(USER), since=mark)
    assert "1.5 mg" in call.params["text"]
