"""Staff alerts end to end: the real Application against the fake Bot API server.

Each alertable event is made the way a patient makes it where that is cheap (a safety message,
a tier-2 check-in's "I need help now", "Stay on my current dose", three unanswered reminders);
a severe side effect is recorded as the check-ins record it. The alert job is run directly with
a fixed clock (what the JobQueue does with the real one). Phrases are found by asking the
engine, never typed in as expected results.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot import texts
from bot.alerts import ALERT_KINDS, process_alerts
from bot.context import Services
from bot.dispatch import dispatch
from knowledge import Engine, Status, load
from reminders import Regimen, load_plans
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.eval import splits
from tests.fakebotapi import FakeBotApi, factories
from tests.reportseed import insert_evenings
from tests.staffharness import ADMIN, NURSE, button, buttons, press, say, sqlite_url, staff_config
from tests.test_store_alerts import evening_row

pytestmark = pytest.mark.e2e

PATIENT = 5101  # agreed to share
PRIVATE = 5102  # never agreed
REF = "MRN-4471"
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
BOOK = load_plans()


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def safety_message(engine: Engine) -> tuple[str, str]:
    """A battery message that gets a tier-1 safety answer, with its rule."""
    path = Path(__file__).with_name("safety_battery.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        expect, sep, message = line.partition("|")
        if not sep or expect in ("none", "") or expect.startswith("#"):
            continue
        reply = engine.ask(message)
        if reply.status is Status.SAFETY and reply.entry_id is not None:
            return message, reply.entry_id
    raise AssertionError("no battery message gets a safety answer")


def checkin_message(engine: Engine) -> str:
    for example in splits.safety_training_examples():
        if example.label == "none" or "@" in example.message:
            continue
        reply = engine.ask(example.message)
        if reply.tier == 2 and reply.checkin is not None:
            return example.message
    raise AssertionError("no training crisis gets a check-in")


def stop_jobs(bot: RunningBot) -> None:
    """The tests run the jobs themselves, with a fixed clock; the scheduler's copies would race
    with them."""
    queue = bot.app.job_queue
    assert queue is not None
    for name in ("alerts", "reload", "reminders"):
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()


def services_of(bot: RunningBot) -> Services:
    services = bot.app.bot_data.services
    assert services is not None
    return services


@pytest.fixture
async def bot(tmp_path: Path, engine: Engine) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(server, sqlite_url(tmp_path / "bot.sqlite3"))
        async with running_bot(server, config, engine=engine) as running:
            services_of(running).clock = lambda: NOW
            stop_jobs(running)
            store = running.store
            store.link_clinic_ref(PATIENT, REF, NOW - timedelta(days=2))
            store.record_consent(PATIENT, True, NOW - timedelta(days=2), "enrolment")
            yield running
        server.assert_no_violations()


def to(chat_id: int) -> Any:
    return lambda call: call.params.get("chat_id") == chat_id


def _confirmed(chat_id: int) -> Any:
    return lambda call: to(chat_id)(call) and call.params.get("text") == "✅ Sent to the clinic."


def alerts_to(bot: RunningBot, staff_id: int, since: int) -> list[dict[str, Any]]:
    return [
        c.params
        for c in bot.server.calls[since:]
        if c.method == "sendMessage"
        and c.ok
        and c.params.get("chat_id") == staff_id
        and "Alert #" in c.params.get("text", "")
    ]


async def settle(bot: RunningBot, chat_id: int) -> None:
    """Wait until the chat's earlier updates are fully handled (bookkeeping after the reply
    included): a chat's updates are handled in order, so once the answer to a later message
    is out, they are."""
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/help", user_id=chat_id))
    # The /help reply itself: a reply to the earlier update may still be on its way.
    await bot.server.wait_for(
        "sendMessage",
        lambda c: to(chat_id)(c) and "How to use me" in str(c.params.get("text")),
        since=mark,
    )


async def run_alerts(bot: RunningBot, now: datetime = NOW) -> int:
    mark = bot.server.mark()
    await process_alerts(services_of(bot), now)
    return mark


async def test_a_safety_answer_alerts_staff_only_with_consent(
    bot: RunningBot, engine: Engine
) -> None:
    message, rule = safety_message(engine)
    for chat_id in (PATIENT, PRIVATE):
        mark = bot.server.mark()
        bot.server.push_update(factories.private_message(message, user_id=chat_id))
        answer = await bot.server.wait_for("sendMessage", to(chat_id), since=mark)
        assert "Please read this now" in answer.params["text"]
        await settle(bot, chat_id)
    mark = await run_alerts(bot)
    for staff_id in (ADMIN, NURSE):  # alert_to is empty: every staff member
        (alert,) = alerts_to(bot, staff_id, mark)
        assert REF in alert["text"] and ALERT_KINDS["safety-answer"] in alert["text"]
        assert rule in alert["text"]
        assert message not in alert["text"]  # what happened, never the words
        assert [label for label, _ in buttons(alert)] == ["✅ Acknowledge", "✉️ Message patient"]
    assert bot.store.alerts_for_chat(PRIVATE)[0].state == "withheld"
    assert bot.store.pseudonym(PRIVATE, NOW) not in str([c.params for c in bot.server.calls])
    # A second run (or a second process) raises nothing new.
    again = await run_alerts(bot)
    assert alerts_to(bot, ADMIN, again) == []


@pytest.mark.parametrize("shares", [True, False], ids=["consent", "no-consent"])
async def test_help_now_hold_severe_side_effect_and_missed_run(
    bot: RunningBot, engine: Engine, shares: bool
) -> None:
    store = bot.store
    chat = PATIENT if shares else PRIVATE
    # "I need help now" on a tier-2 check-in.
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(checkin_message(engine), user_id=chat))
    checkin = await bot.server.wait_for("sendMessage", to(chat), since=mark)
    help_now = button(checkin.params, texts.CHECKIN_HELP_BUTTON)
    await press(bot, chat, help_now, checkin.result)
    await settle(bot, chat)
    # "Stay on my current dose" on tonight's step-up reminder.
    start = NOW.date() - timedelta(days=14)  # the standard plan steps up on day 15
    regimen = Regimen.from_plan(BOOK.plans["standard"], start, time(21), "Europe/London")
    store.save_regimen(chat, regimen, NOW - timedelta(days=14))
    nine = datetime.combine(NOW.date(), time(21), UTC)
    services_of(bot).clock = lambda: nine
    mark = bot.server.mark()
    await dispatch(services_of(bot), nine)
    reminder = await bot.server.wait_for("sendMessage", to(chat), since=mark)
    await press(bot, chat, button(reminder.params, "Stay on my current dose"), reminder.result)
    await settle(bot, chat)
    # Three sent reminders left unanswered; the evening between them was not sent (an outage)
    # and does not count. They replace the evenings the regimen recorded as not sent (late).
    rows = [
        evening_row(chat, date(2026, 12, 1), "sent"),
        evening_row(chat, date(2026, 12, 2), "not_sent"),
        evening_row(chat, date(2026, 12, 3), "sent"),
        evening_row(chat, date(2026, 12, 4), "sent"),
    ]
    with store._write() as conn:
        conn.execute(text("DELETE FROM evenings WHERE evening < '2026-12-05'"))
    insert_evenings(store, rows)
    # A severe side effect, as the check-ins record it.
    store.record_event(chat, "severe-side-effect", nine, ref="77:nausea")
    await dispatch(services_of(bot), nine)  # closes the missed evenings
    assert [e.ref for e in store.events_for_chat(chat, ["missed-3"])] == ["2026-12-04"]
    mark = await run_alerts(bot, nine)
    texts_seen = [a["text"] for a in alerts_to(bot, NURSE, mark)]
    kinds = ["safety-help", "hold", "severe-side-effect", "missed-3"]
    for kind in kinds:
        assert sum(ALERT_KINDS[kind] in t for t in texts_seen) == (1 if shares else 0), kind
    assert any("nausea" in t for t in texts_seen) == shares
    states = {a.kind: a.state for a in store.alerts_for_chat(chat)}
    assert states == dict.fromkeys(kinds, "open" if shares else "withheld")


async def test_consent_withdrawn_between_two_events(bot: RunningBot) -> None:
    store = bot.store
    store.record_event(PATIENT, "hold", NOW - timedelta(hours=3), ref="2026-12-10:1")
    store.record_consent(PATIENT, False, NOW - timedelta(hours=2), "privacy")
    store.record_event(PATIENT, "hold", NOW - timedelta(hours=1), ref="2026-12-10:1")
    mark = await run_alerts(bot)
    assert len(alerts_to(bot, ADMIN, mark)) == 1
    assert [a.state for a in store.alerts_for_chat(PATIENT)] == ["open", "withheld"]


async def test_acknowledged_by_one_is_seen_by_the_other(bot: RunningBot) -> None:
    bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
    mark = await run_alerts(bot)
    (nurse_copy,) = alerts_to(bot, NURSE, mark)
    nurse_message = bot.server.last_message(NURSE)
    admin_message = bot.server.last_message(ADMIN)
    assert nurse_message is not None and admin_message is not None
    ack = button(nurse_copy, "Acknowledge")
    mark = bot.server.mark()
    answer = await press(bot, NURSE, ack, nurse_message)
    assert answer.get("text") == "Acknowledged"
    edits = await bot.server.wait_for_all("editMessageText", count=2, since=mark)
    edited = {e.params["chat_id"]: e.params["text"] for e in edits}
    assert set(edited) == {NURSE, ADMIN}
    assert all(f"Acknowledged by staff:{NURSE}" in t for t in edited.values())
    listing = await say(bot, ADMIN, "/alerts")
    assert listing["text"] == "✅ No open alerts."
    late = await press(bot, ADMIN, ack, admin_message)
    assert late.get("text") == f"Already acknowledged by staff:{NURSE}"
    (entry,) = bot.store.audit_entries(action="alert-acknowledged")
    assert entry.actor == f"staff:{NURSE}" and entry.subject == bot.store.pseudonym(PATIENT, NOW)


async def test_alerts_lists_open_ones_and_acknowledges_from_the_list(bot: RunningBot) -> None:
    for hour in (3, 2):
        bot.store.record_event(PATIENT, "hold", NOW - timedelta(hours=hour), ref="x")
    await run_alerts(bot)
    listing = await say(bot, NURSE, "/alerts")
    assert listing["text"].count(REF) == 2
    first = buttons(listing)[0][1]
    mark = bot.server.mark()
    await press(bot, NURSE, first)
    edit = await bot.server.wait_for("editMessageText", to(NURSE), since=mark)
    assert edit.params["text"].count(REF) == 1


async def test_an_undelivered_alert_stays_open_and_is_retried(bot: RunningBot) -> None:
    bot.store.record_event(PATIENT, "hold", NOW, ref="x")
    bot.server.fail_next("sendMessage", 403, when=lambda p: p.get("chat_id") == NURSE)
    # Every attempt the sender makes fails (RetryPolicy.max_attempts), then the next works.
    attempts = services_of(bot).require_sender().policy.max_attempts
    bot.server.fail_next(
        "sendMessage", 500, when=lambda p: p.get("chat_id") == ADMIN, times=attempts
    )
    mark = await run_alerts(bot)
    assert alerts_to(bot, ADMIN, mark) == [] and alerts_to(bot, NURSE, mark) == []
    (alert,) = bot.store.open_alerts()
    states = {staff: state for staff, state, _ in bot.store.alert_deliveries(alert.id)}
    assert states == {NURSE: "blocked", ADMIN: "pending"}
    mark = await run_alerts(bot, NOW + timedelta(minutes=2))
    assert len(alerts_to(bot, ADMIN, mark)) == 1
    assert [a.id for a in bot.store.open_alerts()] == [alert.id]  # open until acknowledged


async def test_a_relayed_message_both_ways(bot: RunningBot, engine: Engine) -> None:
    bot.store.record_event(PATIENT, "hold", NOW, ref="x")
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, NURSE, mark)
    alert_message = bot.server.last_message(NURSE)
    assert alert_message is not None
    mark = bot.server.mark()
    await press(bot, NURSE, button(alert, "Message patient"), alert_message)
    prompt = await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    assert REF in prompt.params["text"]
    words = "Please call us about your dose this week."
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(words, user_id=NURSE))
    relayed = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    confirm = await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    assert words in relayed.params["text"] and "— the pain clinic\n" in relayed.params["text"]
    assert "+1 555" not in relayed.params["text"]  # signed with the name alone
    assert relayed.params["reply_markup"]["force_reply"] is True
    assert REF in confirm.params["text"]
    # The patient replies to it: the reply goes to that staff member only.
    reply = "Thank you, I will call tomorrow morning."
    mark = bot.server.mark()
    bot.server.push_update(
        factories.private_message(reply, user_id=PATIENT, reply_to=relayed.result)
    )
    back = await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    # The reply is also read for safety (a check-in may come first); then the confirmation.
    await bot.server.wait_for("sendMessage", _confirmed(PATIENT), since=mark)
    assert reply in back.params["text"] and REF in back.params["text"]
    assert not any(c.params.get("chat_id") == ADMIN for c in bot.server.calls[mark:])
    entries = bot.store.audit_entries()
    actions = [e.action for e in entries]
    assert "relay-sent" in actions and "relay-reply" in actions
    logged = str([(e.actor, e.action, e.subject, e.detail) for e in entries])
    assert words not in logged and reply not in logged


async def test_a_safety_phrase_in_a_relayed_reply_still_gets_the_safety_answer(
    bot: RunningBot, engine: Engine
) -> None:
    message, _ = safety_message(engine)
    bot.store.record_event(PATIENT, "hold", NOW, ref="x")
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, NURSE, mark)
    mark = bot.server.mark()
    await press(bot, NURSE, button(alert, "Message patient"), bot.server.last_message(NURSE))
    await bot.server.wait_for("sendMessage", to(NURSE), since=mark)  # the prompt
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message("How are you?", user_id=NURSE))
    relayed = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    # The staff member's confirmation comes once the relay is recorded: only then can a
    # reply be matched to it (a patient cannot answer within milliseconds).
    await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
    mark = bot.server.mark()
    bot.server.push_update(
        factories.private_message(message, user_id=PATIENT, reply_to=relayed.result)
    )
    calls = await bot.server.wait_for_all("sendMessage", to(PATIENT), count=2, since=mark)
    assert "Please read this now" in calls[0].params["text"]
    await settle(bot, PATIENT)
    assert [e.kind for e in bot.store.events_for_chat(PATIENT, ["safety-answer"])]


@pytest.mark.parametrize("command", ["/alerts", "/stats", "/export", "/reload"])
async def test_a_patient_gets_the_unknown_command_answer(bot: RunningBot, command: str) -> None:
    reply = await say(bot, PATIENT, command)
    assert reply["text"] == texts.UNKNOWN_COMMAND
    assert bot.store.audit_entries()[-1].action == "refused"


@pytest.mark.parametrize("command", ["/export", "/reload"])
async def test_staff_who_are_not_admins_cannot_export_or_reload(
    bot: RunningBot, command: str
) -> None:
    reply = await say(bot, NURSE, command)
    assert reply["text"] == texts.UNKNOWN_COMMAND


async def test_a_patient_pressing_an_alert_button_gets_the_stale_answer(bot: RunningBot) -> None:
    bot.store.record_event(PATIENT, "hold", NOW, ref="x")
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, NURSE, mark)
    for _, data in buttons(alert):
        answer = await press(bot, PATIENT, data, bot.server.last_message(NURSE))
        assert answer.get("text") == texts.STALE_BUTTON
    assert [a.state for a in bot.store.open_alerts()] == ["open"]


async def test_a_message_too_long_to_relay_is_refused_and_can_be_sent_again(
    bot: RunningBot,
) -> None:
    bot.store.record_event(PATIENT, "hold", NOW, ref="x")
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, NURSE, mark)
    mark = bot.server.mark()
    await press(bot, NURSE, button(alert, "Message patient"), bot.server.last_message(NURSE))
    await bot.server.wait_for("sendMessage", to(NURSE), since=mark)  # the prompt
    too_long = await say(bot, NURSE, "word " * 800)
    assert "keep it under" in too_long["text"]
    assert bot.server.last_message(PATIENT) is None  # nothing reached the patient
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message("Shorter now.", user_id=NURSE))
    relayed = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    assert "Shorter now." in relayed.params["text"]


def _edit(text: str, message_id: int, sent: int) -> dict[str, Any]:
    """An edited_message update: the same message (id, sending date) with new text."""
    update = factories.private_message(text, user_id=PATIENT, message_id=message_id)
    update["edited_message"] = update.pop("message")
    update["edited_message"]["date"] = sent
    update["edited_message"]["edit_date"] = sent + 60
    return update


async def test_an_edited_crisis_message_raises_one_alert_per_crisis(
    bot: RunningBot, engine: Engine
) -> None:
    message, rule = safety_message(engine)
    other = "I want to end my life" if rule != "self-harm" else "I took too many of my tablets"
    assert engine.ask(other).entry_id not in (None, rule)
    sent = int(NOW.timestamp()) - 10  # just before the test clock's NOW, as before its answer
    first = factories.private_message(message, user_id=PATIENT, message_id=777)
    first["message"]["date"] = sent
    mark = bot.server.mark()
    bot.server.push_update(first)
    await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    await settle(bot, PATIENT)
    # A typo fixed: the patient reads the safety answer again, staff get no second alert.
    mark = bot.server.mark()
    bot.server.push_update(_edit(message + " (sorry, typo)", 777, sent))
    again = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    assert "Please read this now" in again.params["text"]
    await settle(bot, PATIENT)
    mark = await run_alerts(bot)
    assert len(alerts_to(bot, NURSE, mark)) == 1
    # The same message edited into another crisis: that one is new, and alerted.
    bot.server.push_update(_edit(other, 777, sent))
    await settle(bot, PATIENT)
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, NURSE, mark)
    assert ALERT_KINDS["safety-answer"] in alert["text"]
    # A message sent two days earlier, edited now into the first crisis: the alert recorded
    # today belongs to another message, so this one is alerted too.
    two_days = 2 * 24 * 3600
    bot.server.push_update(_edit(message, 778, sent - two_days))
    await settle(bot, PATIENT)
    mark = await run_alerts(bot)
    assert len(alerts_to(bot, NURSE, mark)) == 1
