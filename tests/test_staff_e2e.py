"""Clinic staff end to end: deny by default (a staff command or button from anyone else gets
exactly the unknown-command or stale-button answer, and is audited), invitations, /join, the
staff command menu, removal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import texts
from bot.cli import main
from bot.staff import forget_staff_cache, may_be_staff
from bot.staff_texts import JOIN_USED, JOINED
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.staffharness import ADMIN, NURSE, button, press, say, sqlite_url, staff_config

pytestmark = pytest.mark.e2e

PATIENT = 5001
NEWCOMER = 5002
GROUP = -100777888999


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(server, sqlite_url(tmp_path / "bot.sqlite3"))
        async with running_bot(server, config) as running:
            yield running
        server.assert_no_violations()


def menu(server: FakeBotApi, user_id: int) -> list[str]:
    key = json.dumps({"chat_id": user_id, "type": "chat"}, sort_keys=True) + "|"
    return [c["command"] for c in server.commands.get(key, [])]


async def test_staff_menus_are_set_in_their_own_chats_only(bot: RunningBot) -> None:
    assert "staff" in menu(bot.server, ADMIN) and "broadcast" in menu(bot.server, ADMIN)
    assert "broadcast" in menu(bot.server, NURSE) and "staff" not in menu(bot.server, NURSE)
    default = bot.server.commands[json.dumps({"type": "default"}) + "|"]
    assert not {"staff", "broadcast", "enrol", "join"} & {c["command"] for c in default}


@pytest.mark.parametrize("command", ["/staff", "/staff list", "/join", "/join not-a-code"])
async def test_a_patient_gets_the_unknown_command_answer_and_is_audited(
    bot: RunningBot, command: str
) -> None:
    before = len(bot.store.audit_entries())
    reply = await say(bot, PATIENT, command)
    assert reply["text"] == texts.UNKNOWN_COMMAND
    entries = bot.store.audit_entries()
    assert len(entries) == before + 1
    refused = entries[-1]
    assert refused.action == "refused" and refused.actor.startswith("p-")
    assert str(PATIENT) not in f"{refused.actor} {refused.subject} {refused.detail}"


async def test_a_patient_pressing_a_staff_button_gets_the_stale_answer(bot: RunningBot) -> None:
    listing = await say(bot, ADMIN, "/staff")
    for data in ("x:inv:admin", "x:rm:9002", "x:whatever"):
        answer = await press(bot, PATIENT, data, bot.server.last_message(ADMIN))
        assert answer.get("text") == texts.STALE_BUTTON and answer.get("show_alert") is True
    assert bot.store.list_staff() == []
    assert [e.action for e in bot.store.audit_entries()].count("refused") == 3
    assert "Invite staff" in str(listing["reply_markup"])


async def test_staff_commands_are_refused_in_groups(bot: RunningBot) -> None:
    mark = bot.server.mark()
    bot.server.push_update(factories.command("/staff@ldn_test_bot", user_id=ADMIN, chat_id=GROUP))
    call = await bot.server.wait_for(
        "sendMessage", lambda c: c.params.get("chat_id") == GROUP, since=mark
    )
    assert call.params["text"] == texts.UNKNOWN_COMMAND
    assert bot.store.audit_entries()[-1].detail == "staff_command (group)"


async def test_an_invitation_makes_one_member_who_can_then_be_removed(bot: RunningBot) -> None:
    listing = await say(bot, ADMIN, "/staff")
    mark = bot.server.mark()
    await press(bot, ADMIN, button(listing, "Invite staff"))
    calls = await bot.server.wait_for_all(
        "sendMessage", lambda c: c.params.get("chat_id") == ADMIN, count=2, since=mark
    )
    code = calls[1].params["text"].removeprefix("<code>/join ").removesuffix("</code>")
    assert len(code) == 16

    joined = await say(bot, NEWCOMER, f"/join {code}")
    assert joined["text"] == JOINED.format(role="staff")
    assert "broadcast" in menu(bot.server, NEWCOMER)
    assert (await say(bot, PATIENT, f"/join {code}"))["text"] == JOIN_USED
    # Staff, not admin: /staff is not theirs.
    assert (await say(bot, NEWCOMER, "/staff"))["text"] == texts.UNKNOWN_COMMAND

    listing = await say(bot, ADMIN, "/staff")
    assert f"{NEWCOMER}: staff" in listing["text"]
    mark = bot.server.mark()
    await press(bot, ADMIN, button(listing, f"Remove {NEWCOMER}"))
    await bot.server.wait_for("editMessageText", since=mark)
    assert bot.store.stored_role(NEWCOMER) is None
    assert menu(bot.server, NEWCOMER) == []
    actions = [e.action for e in bot.store.audit_entries()]
    assert [a for a in actions if a in ("invite", "join", "join-refused", "refused", "remove")] == [
        "invite",
        "join",
        "join-refused",
        "refused",
        "remove",
    ]
    assert code not in repr(bot.store.audit_entries())


async def test_members_removed_on_the_command_line_lose_their_menu(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    cli_config = tmp_path / "cli.toml"
    cli_config.write_text(f'[storage]\nurl = "{sqlite_url(db)}"\n', encoding="utf-8")
    tries, waits = 5101, 5102
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(server, sqlite_url(db))
        async with running_bot(server, config) as bot:
            for member in (tries, waits):
                bot.store.add_staff(member, "staff", datetime(2026, 12, 1, tzinfo=UTC))
        async with running_bot(server, config) as bot:
            assert "broadcast" in menu(server, tries) and "broadcast" in menu(server, waits)
            for member in (tries, waits):
                assert main(["staff", "remove", str(member), "-c", str(cli_config)]) == 0
            # The running bot learns it when the member next tries a staff command.
            assert (await say(bot, tries, "/broadcast"))["text"] == texts.UNKNOWN_COMMAND
            await server.wait_for(
                "deleteMyCommands", lambda c: c.params["scope"]["chat_id"] == tries
            )
            assert menu(server, tries) == [] and "broadcast" in menu(server, waits)
            # A patient's refused command deletes no menu.
            assert (await say(bot, PATIENT, "/broadcast"))["text"] == texts.UNKNOWN_COMMAND
            assert not [c for c in server.calls_to("deleteMyCommands")
                        if c.params["scope"]["chat_id"] == PATIENT]  # fmt: skip
        # At the next start, every removed member's menu goes.
        async with running_bot(server, config):
            assert menu(server, waits) == []
            assert "broadcast" in menu(server, NURSE)
        server.assert_no_violations()


async def test_may_be_staff_reads_invited_members_until_this_process_changes_them(
    bot: RunningBot,
) -> None:
    """The relay's cheap test: config staff at once, invited members from a list read at most
    every STAFF_CACHE_SECONDS, read again at once after this process's own /join or removal."""
    services = bot.app.bot_data.services
    assert services is not None
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert await may_be_staff(services, ADMIN)  # from the config
    assert not await may_be_staff(services, NEWCOMER)
    bot.store.add_staff(NEWCOMER, "staff", now)  # e.g. by another process
    assert not await may_be_staff(services, NEWCOMER)  # the list read a moment ago
    forget_staff_cache(services)
    assert await may_be_staff(services, NEWCOMER)
    assert bot.store.remove_staff(NEWCOMER)
    forget_staff_cache(services)
    assert not await may_be_staff(services, NEWCOMER)
