"""Broadcasts end to end over HTTP against the fake Bot API server, with a fixed clock: the
whole /broadcast conversation, photos, scheduling, cancelling, /updates and urgent notices,
and 2,000 patients with 5 % blocked and some 429s, each reached exactly once.

The sending round (what the JobQueue tick runs) is called directly with ``now``."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.broadcasts import send_broadcasts
from bot.context import Services
from bot.dispatch import dispatch
from reminders import Regimen, load_plans
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.fakebotapi.server import ApiError
from tests.staffharness import ADMIN, NURSE, button, press, say, sqlite_url, staff_config, to

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # 12:00 in London
FIRST_PATIENT = 600_000
SENDS = ("sendMessage", "sendPhoto", "sendDocument")


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
            # The tests run the sending round themselves, with their own `now`.
            assert running.app.job_queue is not None
            for job in running.app.job_queue.get_jobs_by_name("broadcasts"):
                job.schedule_removal()
            yield running
        server.assert_no_violations()


def add_patients(bot: RunningBot, count: int) -> list[int]:
    chats = list(range(FIRST_PATIENT, FIRST_PATIENT + count))
    for chat in chats:
        bot.store.record_chat(chat, "private", NOW, started=True)
    return chats


def received(server: FakeBotApi, chats: list[int], since: int = 0) -> Counter[int]:
    wanted = set(chats)
    return Counter(
        call.params["chat_id"]
        for call in server.calls[since:]
        if call.method in SENDS and call.ok and call.params.get("chat_id") in wanted
    )


async def reply_to_prompt(bot: RunningBot, user: int, **message: Any) -> dict[str, Any]:
    prompt = bot.server.last_message(user)
    assert prompt is not None
    mark = bot.server.mark()
    update = factories.private_message(message.pop("text", ""), user_id=user, reply_to=prompt)
    if not update["message"]["text"]:
        del update["message"]["text"]
    update["message"].update(message)
    bot.server.push_update(update)
    call = await bot.server.wait_for("sendMessage", to(user), since=mark)
    return dict(call.params)


async def write_broadcast(
    bot: RunningBot, user: int, audience: str, **message: Any
) -> dict[str, Any]:
    """/broadcast, the message, the audience: returns the summary under the preview."""
    prompt = await say(bot, user, "/broadcast")
    assert prompt["reply_markup"]["force_reply"] is True
    question = await reply_to_prompt(bot, user, **message)
    assert "Who should receive it?" in question["text"]
    mark = bot.server.mark()
    await press(bot, user, button(question, audience))
    calls = await bot.server.wait_for_all("sendMessage", to(user), count=2, since=mark)
    summary = calls[-1].params
    if "This goes to" not in summary["text"]:  # a photo preview: the summary follows it
        summary = (
            await bot.server.wait_for(
                "sendMessage",
                lambda c: to(user)(c) and "This goes to" in c.params["text"],
                since=mark,
            )
        ).params
    return dict(summary)


async def test_the_whole_broadcast_conversation(bot: RunningBot) -> None:
    patients = add_patients(bot, 3)
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    text = "Closed Monday 7 Dec for training. <not html> & more"
    summary = await write_broadcast(bot, NURSE, "All active", text=text, entities=bold)
    assert "This goes to <b>3</b> all active patients" in summary["text"]
    assert "Mark urgent" not in str(summary["reply_markup"])  # staff, not admin
    mark = bot.server.mark()
    await press(bot, NURSE, button(summary, "Send now"))
    await bot.server.wait_for("editMessageText", to(NURSE), since=mark)
    progress = await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    assert "0 / 3" in progress.params["text"]

    report = await send_broadcasts(services_of(bot), NOW)
    assert report.deliveries == {"sent": 3}
    got = [c.params for c in bot.server.calls_to("sendMessage") if c.params["chat_id"] in patients]
    preview = next(
        c.params
        for c in bot.server.calls_to("sendMessage")
        if c.params["chat_id"] == NURSE and c.params["text"] == text
    )
    assert len(got) == 3
    for params in got:
        assert (params["text"], params.get("entities")) == (text, preview.get("entities"))
        assert params.get("parse_mode") is None
    final = bot.server.calls_to("sendMessage")[-1].params
    assert (
        final["chat_id"] == NURSE
        and "finished" in final["text"]
        and "Delivered: 3" in final["text"]
    )
    edits = [
        c.params["text"]
        for c in bot.server.calls_to("editMessageText")
        if "sending" in c.params["text"]
    ]
    assert edits and "3 / 3" in edits[-1]
    # A second round sends nothing more.
    assert (await send_broadcasts(services_of(bot), NOW)).deliveries == {}
    assert received(bot.server, patients) == Counter({p: 1 for p in patients})
    actions = [e.action for e in bot.store.audit_entries()]
    assert actions == ["broadcast-sent"]


async def test_a_photo_with_caption_is_resent_by_file_id(bot: RunningBot) -> None:
    patients = add_patients(bot, 2)
    photo = [
        {"file_id": "small-id", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "big-id", "file_unique_id": "b", "width": 900, "height": 900},
    ]
    summary = await write_broadcast(bot, ADMIN, "All active", photo=photo, caption="New leaflet")
    await send_now(bot, ADMIN, summary)
    await send_broadcasts(services_of(bot), NOW)
    sent = [c.params for c in bot.server.calls_to("sendPhoto") if c.params["chat_id"] in patients]
    assert [(p["photo"], p["caption"]) for p in sent] == [("big-id", "New leaflet")] * 2


async def test_scheduled_in_the_clinics_zone_and_cancelled(bot: RunningBot) -> None:
    patients = add_patients(bot, 2)
    summary = await write_broadcast(bot, ADMIN, "All active", text="Flu jabs on Friday")
    prompt_mark = bot.server.mark()
    await press(bot, ADMIN, button(summary, "Schedule"))
    await bot.server.wait_for("sendMessage", to(ADMIN), since=prompt_mark)
    done = await reply_to_prompt(bot, ADMIN, text="tomorrow 9:00")
    assert "Sat 05 Dec 2026 09:00 (Europe/London)" in done["text"]
    services = services_of(bot)
    assert (await send_broadcasts(services, NOW)).launched == 0
    due = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # London is on UTC in December
    report = await send_broadcasts(services, due)
    assert report.launched == 1 and report.deliveries == {"sent": 2}
    assert received(bot.server, patients) == Counter({p: 1 for p in patients})

    # Another, scheduled then cancelled from /broadcasts: nobody gets it.
    summary = await write_broadcast(bot, ADMIN, "All active", text="Second notice")
    prompt_mark = bot.server.mark()
    await press(bot, ADMIN, button(summary, "Schedule"))
    await bot.server.wait_for("sendMessage", to(ADMIN), since=prompt_mark)
    await reply_to_prompt(bot, ADMIN, text="2026-12-06 10:00")
    listing = await say(bot, ADMIN, "/broadcasts")
    assert "Delivered: 2" in listing["text"]
    answer = await press(bot, ADMIN, button(listing, "Cancel #"))
    assert answer.get("text") == "Cancelled."
    later = datetime(2026, 12, 7, tzinfo=UTC)
    assert (await send_broadcasts(services, later)).deliveries == {}
    assert received(bot.server, patients) == Counter({p: 1 for p in patients})
    actions = [e.action for e in bot.store.audit_entries()]
    assert actions == ["broadcast-scheduled", "broadcast-scheduled", "broadcast-cancelled"]


async def test_a_bad_time_is_asked_again(bot: RunningBot) -> None:
    add_patients(bot, 1)
    summary = await write_broadcast(bot, NURSE, "All active", text="x")
    mark = bot.server.mark()
    await press(bot, NURSE, button(summary, "Schedule"))
    await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    again = await reply_to_prompt(bot, NURSE, text="next blue moon")
    assert "couldn't read" in again["text"] and again["reply_markup"]["force_reply"]
    again = await reply_to_prompt(bot, NURSE, text="11:30")  # today, but gone (now 12:00)
    assert "has passed (it is Fri 04 Dec 12:00 at the clinic)" in again["text"]
    again = await reply_to_prompt(bot, NURSE, text="2028-01-01 10:00")
    assert "more than a year away" in again["text"]
    assert bot.store.due_broadcasts(datetime(2029, 1, 1, tzinfo=UTC)) == []


async def test_a_caption_too_long_for_patients_is_asked_again(bot: RunningBot) -> None:
    add_patients(bot, 1)
    photo = [{"file_id": "big-id", "file_unique_id": "b", "width": 900, "height": 900}]
    await say(bot, ADMIN, "/broadcast")
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 9,
               "height": 9, "is_animated": False, "is_video": False}  # fmt: skip
    again = await reply_to_prompt(bot, ADMIN, sticker=sticker)
    assert "please reply with text, a photo or a PDF" in again["text"]
    # 1,020 characters, but each emoji counts two in Telegram's limit: 1,030.
    again = await reply_to_prompt(bot, ADMIN, photo=photo, caption="x" * 1010 + "💊" * 10)
    assert "1,030 characters" in again["text"] and "at most 1,024" in again["text"]
    assert again["reply_markup"]["force_reply"] is True
    draft = bot.store.current_draft(ADMIN)
    assert draft is not None and draft.stage == "message"
    question = await reply_to_prompt(bot, ADMIN, photo=photo, caption="x" * 1024)
    assert "Who should receive it?" in question["text"]


async def test_an_empty_audience_is_said_and_not_sent(bot: RunningBot) -> None:
    summary = await write_broadcast(bot, NURSE, "All active", text="Nobody to read this")
    assert "This goes to <b>0</b>" in summary["text"] and "Nobody is in this" in summary["text"]
    answer = await press(bot, NURSE, button(summary, "Send now"))
    assert answer["show_alert"] is True and "nothing was sent" in answer["text"]
    assert bot.store.recent_broadcasts() == []
    draft = bot.store.current_draft(NURSE)
    assert draft is not None and draft.stage == "preview"  # it can still be scheduled


async def test_updates_off_and_urgent_notices(bot: RunningBot) -> None:
    patients = add_patients(bot, 3)
    reply = await say(bot, patients[0], "/updates")
    assert "<b>on</b>" in reply["text"]
    await press(bot, patients[0], button(reply, "Turn off"))
    summary = await write_broadcast(bot, ADMIN, "All active", text="Ordinary news")
    assert "<b>2</b>" in summary["text"]
    mark = bot.server.mark()
    await press(bot, ADMIN, button(summary, "Mark urgent"))
    urgent = await bot.server.wait_for(
        "sendMessage", lambda c: to(ADMIN)(c) and "This goes to" in c.params["text"], since=mark
    )
    assert "<b>3</b>" in urgent.params["text"] and "urgent" in urgent.params["text"]
    await send_now(bot, ADMIN, urgent.params, urgent.result)
    await send_broadcasts(services_of(bot), NOW)
    assert received(bot.server, patients, since=mark) == Counter({p: 1 for p in patients})


async def send_now(
    bot: RunningBot, user: int, summary: dict[str, Any], message: dict[str, Any] | None = None
) -> None:
    """Press "Send now" and wait for the progress message (the outbox is written by then)."""
    mark = bot.server.mark()
    await press(bot, user, button(summary, "Send now"), message)
    await bot.server.wait_for(
        "sendMessage", lambda c: to(user)(c) and "sending …" in c.params["text"], since=mark
    )


def blocked_and_throttled(blocked: set[int], throttled: set[int]) -> Any:
    """403 for blocked chats; one 429 for each throttled chat's first attempt."""
    hit: set[int] = set()

    def fault(method: str, params: dict[str, Any]) -> ApiError | None:
        chat = params.get("chat_id")
        if method not in SENDS or not isinstance(chat, int):
            return None
        if chat in blocked:
            return ApiError(403, "Forbidden: bot was blocked by the user")
        if chat in throttled and chat not in hit:
            hit.add(chat)
            return ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        return None

    return fault


async def test_two_thousand_patients_5_percent_blocked_some_429s(bot: RunningBot) -> None:
    patients = add_patients(bot, 2000)
    blocked = set(patients[::20])  # 100 = 5 %
    throttled = set(patients[7::50])
    bot.server.fault = blocked_and_throttled(blocked, throttled)
    summary = await write_broadcast(bot, ADMIN, "All active", text="Important: new hours")
    assert "<b>2,000</b>" in summary["text"]
    await send_now(bot, ADMIN, summary)
    mark = bot.server.mark()
    report = await send_broadcasts(services_of(bot), NOW)
    assert report.deliveries == {"sent": 1900, "blocked": 100}
    got = received(bot.server, patients, since=mark)
    assert set(got) == set(patients) - blocked and set(got.values()) == {1}
    bid = bot.store.recent_broadcasts(1)[0].id
    assert bot.store.outbox_counts(bid) == {"sent": 1900, "blocked": 100}
    assert all(bot.store.is_unreachable(chat) for chat in blocked)
    final = bot.server.calls_to("sendMessage")[-1].params["text"]
    assert "Delivered: 1,900" in final and "Blocked the bot: 100" in final


async def test_cancelled_mid_flight_from_the_list_with_retries_waiting(bot: RunningBot) -> None:
    patients = add_patients(bot, 40)
    failing = set(patients[:5])  # the server errs for these while the first round runs

    def fault(method: str, params: dict[str, Any]) -> ApiError | None:
        if method in SENDS and params.get("chat_id") in failing:
            return ApiError(500, "Internal Server Error")
        return None

    bot.server.fault = fault
    summary = await write_broadcast(bot, NURSE, "All active", text="Pharmacy moves")
    await send_now(bot, NURSE, summary)
    services = services_of(bot)
    first = await send_broadcasts(services, NOW)
    assert first.deliveries == {"sent": 35, "not_sent": 5} and first.finished == []
    bot.server.fault = None

    listing = await say(bot, NURSE, "/broadcasts")
    assert "sending" in listing["text"] and "Delivered: 35" in listing["text"]
    mark = bot.server.mark()
    answer = await press(bot, NURSE, button(listing, "Cancel #"))
    assert answer.get("text") == "Cancelled."
    edited = await bot.server.wait_for("editMessageText", to(NURSE), since=mark)
    assert "cancelled" in edited.params["text"] and "Cancel #" not in str(edited.params)
    later = await send_broadcasts(services, NOW + timedelta(hours=1))  # retries would be due
    assert later.deliveries == {}
    assert received(bot.server, patients) == Counter({p: 1 for p in patients[5:]})
    final = bot.server.calls_to("sendMessage")[-1].params
    assert final["chat_id"] == NURSE and "cancelled" in final["text"]
    assert "Delivered: 35" in final["text"] and "Not sent (cancelled): 5" in final["text"]
    assert [e.action for e in bot.store.audit_entries()] == [
        "broadcast-sent",
        "broadcast-cancelled",
    ]


async def test_due_reminders_go_before_a_broadcast(bot: RunningBot) -> None:
    patients = add_patients(bot, 3)
    plan = load_plans().plans["standard"]
    regimen = Regimen.from_plan(plan, NOW.date(), NOW.time().replace(microsecond=0), "UTC")
    bot.store.save_regimen(patients[0], regimen, NOW - timedelta(minutes=5))
    summary = await write_broadcast(bot, ADMIN, "All active", text="News")
    await send_now(bot, ADMIN, summary)
    services = services_of(bot)
    waiting = await send_broadcasts(services, NOW)
    assert waiting.yielded and waiting.deliveries == {}
    mark = bot.server.mark()
    reminders = await dispatch(services, NOW)
    assert reminders.sent == 1
    report = await send_broadcasts(services, NOW)
    assert not report.yielded and report.deliveries == {"sent": 3}
    first = [c.params["chat_id"] for c in bot.server.calls[mark:] if c.method == "sendMessage"]
    assert first[0] == patients[0]


async def test_the_conversation_survives_a_restart_and_logs_no_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    text = "Secret-sounding clinic notice 4711"
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(server, sqlite_url(tmp_path / "bot.sqlite3"))
        async with running_bot(server, config) as first:
            services_of(first).clock = lambda: NOW
            patients = add_patients(first, 2)
            await say(first, NURSE, "/broadcast")
            question = await reply_to_prompt(first, NURSE, text=text)
            message = server.last_message(NURSE)
        # A new process on the same database carries on from the button pressed.
        async with running_bot(server, config) as second:
            services_of(second).clock = lambda: NOW
            mark = server.mark()
            await press(second, NURSE, button(question, "All active"), message)
            summary = await server.wait_for(
                "sendMessage",
                lambda c: to(NURSE)(c) and "This goes to" in c.params["text"],
                since=mark,
            )
            await send_now(second, NURSE, summary.params, summary.result)
            await send_broadcasts(services_of(second), NOW)
            assert received(server, patients) == Counter({p: 1 for p in patients})
        server.assert_no_violations()
    assert text not in caplog.text and "4711" not in caplog.text
    assert "broadcast #1 launched to 2 recipients" in caplog.text


async def test_a_pdf_with_caption_is_resent_by_file_id(bot: RunningBot) -> None:
    patients = add_patients(bot, 2)
    pdf = {"file_id": "pdf-id", "file_unique_id": "p", "mime_type": "application/pdf"}
    summary = await write_broadcast(bot, NURSE, "All active", document=pdf, caption="Leaflet")
    await send_now(bot, NURSE, summary)
    await send_broadcasts(services_of(bot), NOW)
    sent = [(c.params["chat_id"], c.params["document"], c.params["caption"])
            for c in bot.server.calls_to("sendDocument")]  # fmt: skip
    assert sent[0] == (NURSE, "pdf-id", "Leaflet")  # the preview comes first
    # The patients' copies go out side by side on the bulk lane, in either order.
    assert sorted(sent[1:]) == [(chat, "pdf-id", "Leaflet") for chat in sorted(patients)]
