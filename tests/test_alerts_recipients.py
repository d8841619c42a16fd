"""Who an alert reaches, what it asks of them, and a relay to a patient who blocked the bot.

The real Application against the fake Bot API server; the alert job is run directly with a
fixed clock, as in tests/test_alerts_e2e.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import ALERT_ADVICE, ALERT_KINDS, HOW_TO
from bot.handlers.alerts import LISTED
from knowledge import Engine, load
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.staffharness import ADMIN, NURSE, button, press, say, sqlite_url, staff_config
from tests.test_alerts_e2e import (
    NOW,
    PATIENT,
    REF,
    alerts_to,
    run_alerts,
    services_of,
    stop_jobs,
    to,
)

pytestmark = pytest.mark.e2e

OUTSIDER = 7777  # not staff: a typo in alert_to, or someone who left


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


@asynccontextmanager
async def started(
    tmp_path: Path, engine: Engine, *, alert_to: tuple[int, ...] = (), **roles: Any
) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        settings = staff_config(server, sqlite_url(tmp_path / "bot.sqlite3"), **roles)
        settings = replace(settings, staff=replace(settings.staff, alert_to=alert_to))
        async with running_bot(server, settings, engine=engine) as running:
            services_of(running).clock = lambda: NOW
            stop_jobs(running)
            running.store.link_clinic_ref(PATIENT, REF, NOW - timedelta(days=2))
            running.store.record_consent(PATIENT, True, NOW - timedelta(days=2), "enrolment")
            yield running
        server.assert_no_violations()


def sent_to(bot: RunningBot, chat_id: int, since: int = 0) -> list[str]:
    return [
        c.params.get("text", "")
        for c in bot.server.calls[since:]
        if c.method == "sendMessage" and c.params.get("chat_id") == chat_id
    ]


async def test_an_alert_to_id_that_is_not_staff_never_gets_an_alert(
    tmp_path: Path, engine: Engine
) -> None:
    async with started(tmp_path, engine, alert_to=(OUTSIDER, NURSE)) as bot:
        bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
        mark = await run_alerts(bot)
        assert len(alerts_to(bot, NURSE, mark)) == 1
        assert alerts_to(bot, ADMIN, mark) == []  # alert_to is set: only those in it
        assert sent_to(bot, OUTSIDER) == []
        (alert,) = bot.store.open_alerts()
        assert [staff for staff, _, _ in bot.store.alert_deliveries(alert.id)] == [NURSE]


async def test_an_alert_to_of_outsiders_only_falls_back_to_every_staff_member(
    tmp_path: Path, engine: Engine
) -> None:
    async with started(tmp_path, engine, alert_to=(OUTSIDER,)) as bot:
        bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
        mark = await run_alerts(bot)
        assert len(alerts_to(bot, NURSE, mark)) == 1 and len(alerts_to(bot, ADMIN, mark)) == 1
        assert sent_to(bot, OUTSIDER) == []


async def test_a_member_removed_before_a_retry_is_not_sent_the_alert(
    tmp_path: Path, engine: Engine
) -> None:
    invited = 9555
    async with started(tmp_path, engine) as bot:
        bot.store.add_staff(invited, "staff", NOW - timedelta(days=1))
        bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
        attempts = services_of(bot).require_sender().policy.max_attempts
        bot.server.fail_next(
            "sendMessage", 500, when=lambda p: p.get("chat_id") == invited, times=attempts
        )
        await run_alerts(bot)
        assert alerts_to(bot, invited, 0) == []
        bot.store.remove_staff(invited)
        mark = await run_alerts(bot, NOW + timedelta(hours=2))
        assert alerts_to(bot, invited, mark) == []
        (alert,) = bot.store.open_alerts()
        states = {staff: state for staff, state, _ in bot.store.alert_deliveries(alert.id)}
        assert states == {ADMIN: "sent", NURSE: "sent", invited: "blocked"}
        # Nothing is left to retry.
        later = await run_alerts(bot, NOW + timedelta(days=1))
        assert _sends(bot, later) == []


async def test_with_no_staff_an_alert_waits_open_for_the_first_one(
    tmp_path: Path, engine: Engine
) -> None:
    async with started(tmp_path, engine, admins=(), staff=()) as bot:
        bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
        mark = await run_alerts(bot)
        assert _sends(bot, mark) == []
        (alert,) = bot.store.open_alerts()
        assert bot.store.alert_deliveries(alert.id) == []


async def test_an_alert_says_what_to_do_until_acknowledged(tmp_path: Path, engine: Engine) -> None:
    async with started(tmp_path, engine) as bot:
        bot.store.record_event(PATIENT, "severe-side-effect", NOW, ref="12:nausea")
        mark = await run_alerts(bot)
        (alert,) = alerts_to(bot, NURSE, mark)
        body = alert["text"]
        assert REF in body and ALERT_KINDS["severe-side-effect"] in body and "nausea" in body
        assert ALERT_ADVICE["severe-side-effect"] in body and HOW_TO in body
        mark = bot.server.mark()
        await press(bot, NURSE, button(alert, "Acknowledge"), bot.server.last_message(NURSE))
        edit = await bot.server.wait_for("editMessageText", to(NURSE), since=mark)
        assert "Acknowledged by" in edit.params["text"] and HOW_TO not in edit.params["text"]


async def test_a_relay_to_a_patient_who_blocked_the_bot_says_so_and_stops(
    tmp_path: Path, engine: Engine
) -> None:
    async with started(tmp_path, engine) as bot:
        bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
        mark = await run_alerts(bot)
        (alert,) = alerts_to(bot, NURSE, mark)
        mark = bot.server.mark()
        await press(bot, NURSE, button(alert, "Message patient"), bot.server.last_message(NURSE))
        await bot.server.wait_for("sendMessage", to(NURSE), since=mark)  # the prompt
        bot.server.fail_next("sendMessage", 403, when=_chat(PATIENT))
        mark = bot.server.mark()
        bot.server.push_update(factories.private_message("Please call us.", user_id=NURSE))
        answer = await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
        assert "blocked the bot" in answer.params["text"] and REF in answer.params["text"]
        # The nurse's next message is theirs again: an ordinary message, not a retry.
        mark = bot.server.mark()
        bot.server.push_update(factories.private_message("Second try", user_id=NURSE))
        await bot.server.wait_for("sendMessage", to(NURSE), since=mark)
        assert not any(
            c.method == "sendMessage" and c.params.get("chat_id") == PATIENT
            for c in bot.server.calls[mark:]
        )
        assert "relay-sent" not in [e.action for e in bot.store.audit_entries()]


def _sends(bot: RunningBot, since: int) -> list[Any]:
    return [c for c in bot.server.calls[since:] if c.method == "sendMessage"]


def _chat(chat_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda params: params.get("chat_id") == chat_id


async def relay_from(bot: RunningBot, staff_id: int, words: str) -> dict[str, Any]:
    """``staff_id`` writes to PATIENT from an alert; returns the relayed message."""
    bot.store.record_event(PATIENT, "hold", NOW, ref="2026-12-10:1")
    mark = await run_alerts(bot)
    (alert,) = alerts_to(bot, staff_id, mark)
    mark = bot.server.mark()
    await press(bot, staff_id, button(alert, "Message patient"), bot.server.last_message(staff_id))
    await bot.server.wait_for("sendMessage", to(staff_id), since=mark)  # the prompt
    mark = bot.server.mark()
    bot.server.push_update(factories.private_message(words, user_id=staff_id))
    relayed = await bot.server.wait_for("sendMessage", to(PATIENT), since=mark)
    await bot.server.wait_for("sendMessage", to(staff_id), since=mark)  # "Sent to ..."
    return dict(relayed.result)


@pytest.mark.parametrize("why", ["window closed", "staff member left"])
async def test_a_reply_that_cannot_go_back_tells_the_patient(
    tmp_path: Path, engine: Engine, why: str
) -> None:
    invited = 9556
    async with started(tmp_path, engine) as bot:
        bot.store.add_staff(invited, "staff", NOW - timedelta(days=1))
        relayed = await relay_from(bot, invited, "How are the evenings going?")
        if why == "window closed":
            services_of(bot).clock = lambda: NOW + timedelta(days=8)
        else:
            bot.store.remove_staff(invited)
        mark = bot.server.mark()
        bot.server.push_update(
            factories.private_message("what is ldn", user_id=PATIENT, reply_to=relayed)
        )
        first, answer = await bot.server.wait_for_all(
            "sendMessage", to(PATIENT), count=2, since=mark
        )
        assert "reply was not passed on" in first.params["text"]
        assert "LDN" in answer.params["text"]  # then answered as any message
        assert sent_to(bot, invited, mark) == []
        assert "relay-reply" not in [e.action for e in bot.store.audit_entries()]


async def test_alerts_says_how_many_are_open_when_it_lists_only_the_oldest(
    tmp_path: Path, engine: Engine
) -> None:
    async with started(tmp_path, engine, alert_to=(NURSE,)) as bot:
        for minute in range(LISTED + 2):
            bot.store.record_event(PATIENT, "hold", NOW - timedelta(minutes=minute), ref="x")
        await run_alerts(bot)
        listing = await say(bot, NURSE, "/alerts")
        assert f"Open alerts: {LISTED + 2}" in listing["text"]
        assert f"the oldest {LISTED} shown" in listing["text"]
        assert listing["text"].count(REF) == LISTED


async def test_a_patient_without_a_clinic_reference_raises_no_alert(
    tmp_path: Path, engine: Engine
) -> None:
    self_enrolled = 5199
    async with started(tmp_path, engine) as bot:
        # Self-enrolled patients are never asked; a consent row anyway (a forged button).
        bot.store.record_consent(self_enrolled, True, NOW - timedelta(days=1), "privacy")
        bot.store.record_event(self_enrolled, "hold", NOW, ref="2026-12-10:1")
        mark = await run_alerts(bot)
        assert alerts_to(bot, NURSE, mark) == [] and alerts_to(bot, ADMIN, mark) == []
        assert [a.state for a in bot.store.alerts_for_chat(self_enrolled)] == ["withheld"]
