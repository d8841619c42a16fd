"""`ldn-bot staff invite|list|remove`, `ldn-bot enrol` and `ldn-bot audit`: the clinic's
staff tools on the server, on the same store (and audit log) as the bot."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from telegram.error import TelegramError

from bot.botapi import fetch_username
from bot.config import Config, ConfigError, check_database_moved
from bot.staff import code_hash, new_code
from store import Store

ACTOR = "cli"  # how the command line is named in the audit log


def _store(config: Config) -> Store:
    check_database_moved(config)
    return Store.open(config.storage.url)


def cmd_staff(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Invite, list or remove clinic staff."""
    now = datetime.now(UTC)
    store = _store(config)
    try:
        if args.staff_command == "invite":
            code = new_code()
            expires = now + timedelta(hours=args.hours or config.staff.invite_hours)
            invite_id = store.create_invite(code_hash(code), args.role, now, expires)
            store.append_audit(
                ACTOR, "invite", now, subject=f"invite:{invite_id}", detail=f"role {args.role}"
            )
            out.write(
                f"One-time invitation ({args.role}), valid until {expires:%Y-%m-%d %H:%M} UTC.\n"
                f"The new member sends this to the bot in a private chat:\n\n/join {code}\n"
            )
            return 0
        if args.staff_command == "remove":
            if args.user_id in config.staff.admins or args.user_id in config.staff.staff:
                out.write(f"{args.user_id} is listed in the config's [staff]; edit it there.\n")
                return 1
            if not store.remove_staff(args.user_id):
                out.write(f"{args.user_id} is not an invited staff member.\n")
                return 1
            store.append_audit(ACTOR, "remove", now, subject=f"staff:{args.user_id}")
            out.write(
                f"Removed {args.user_id}. Their staff command menu goes when they next try a "
                "staff command, or when the bot next starts.\n"
            )
            return 0
        for user_id in config.staff.admins:
            out.write(f"{user_id}\tadmin\tconfig\n")
        for user_id in config.staff.staff:
            if user_id not in config.staff.admins:
                out.write(f"{user_id}\tstaff\tconfig\n")
        for member in store.list_staff():
            added = f"{member.added_at:%Y-%m-%d}"
            out.write(f"{member.user_id}\t{member.role}\tinvited {added}\n")
        return 0
    finally:
        store.close()


def bot_username(config: Config) -> str:
    """The bot's @username, asked from the Bot API (a deep link names the bot)."""

    try:
        return asyncio.run(fetch_username(config))
    except TelegramError as exc:
        raise ConfigError(
            f"cannot ask the Bot API for the bot's username ({type(exc).__name__}); "
            "pass --bot-username"
        ) from None


def cmd_enrol(
    config: Config,
    args: argparse.Namespace,
    out: TextIO,
    inp: TextIO,
    *,
    username: Callable[[Config], str] = bot_username,
) -> int:
    """Make a one-time enrolment link for a patient."""
    from reminders import load_plans

    book = load_plans(config.reminders.plans)
    if book.get(args.plan) is None:
        raise ConfigError(f"no plan {args.plan!r}; plans: {', '.join(book.names())}")
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        raise ConfigError(f"--start must be a date YYYY-MM-DD, got {args.start!r}") from None
    ref = (args.ref or "").strip() or None
    if ref is not None and len(ref) > 64:
        raise ConfigError("--ref must be at most 64 characters")
    name = args.bot_username or username(config)
    now = datetime.now(UTC)
    store = _store(config)
    try:
        code = new_code()
        expires = now + timedelta(days=args.days or config.staff.enrolment_days)
        enrolment_id = store.create_enrolment(
            code_hash(code), args.plan, start, now, expires, ref=ref
        )
        store.append_audit(
            ACTOR,
            "enrol",
            now,
            subject=f"enrolment:{enrolment_id}",
            detail=f"plan {args.plan}, start {start}",
        )
    finally:
        store.close()
    out.write(
        f"One-time enrolment link, valid until {expires:%Y-%m-%d %H:%M} UTC:\n"
        f"https://t.me/{name}?start={code}\n"
    )
    return 0


def cmd_audit(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Print the audit log, oldest first."""
    store = _store(config)
    try:
        entries = store.audit_entries(limit=args.limit, action=args.action)
    finally:
        store.close()
    if not entries:
        out.write("The audit log is empty.\n")
    for entry in entries:
        out.write(
            f"{entry.at:%Y-%m-%d %H:%M:%S}Z\t{entry.actor}\t{entry.action}\t"
            f"{entry.subject or '-'}\t{entry.detail or ''}\n"
        )
    return 0


def add_commands(
    command: Callable[[str, str, str], argparse.ArgumentParser], config_help: str
) -> None:
    """Register the staff commands on the `ldn-bot` parser (see bot/cli.py)."""
    staff = command(
        "staff",
        "clinic staff: invite, list, remove",
        "Staff are the user ids in the config's [staff] and the people an admin invited.\n"
        "`invite` prints a one-time /join code (stored only as a hash); `remove` removes an\n"
        "invited member (config members are removed by editing the config).",
    )
    actions = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    invite = actions.add_parser(
        "invite", help="a one-time /join code", description="A one-time /join code."
    )
    invite.add_argument("--role", choices=("staff", "admin"), default="staff")
    invite.add_argument(
        "--hours", type=int, default=None, help="valid this long (default [staff] invite_hours)"
    )
    listing = actions.add_parser("list", help="list staff", description="List staff.")
    remove = actions.add_parser(
        "remove", help="remove an invited member", description="Remove an invited member."
    )
    remove.add_argument("user_id", type=int, metavar="USER_ID")
    for action in (invite, listing, remove):
        action.add_argument(
            "--config", "-c", dest="staff_config", metavar="CONFIG", help=config_help
        )
    staff.set_defaults(func=cmd_staff)

    enrol = command(
        "enrol",
        "a one-time enrolment link for a patient",
        "Print a one-time link (https://t.me/<bot>?start=<code>) that sets up PLAN from START\n"
        "when the patient opens it, links the clinic's reference and asks for consent to\n"
        "share adherence and check-ins. Only the code's hash is stored.",
    )
    enrol.add_argument("--plan", required=True, help="the titration plan (see `ldn-bot plan list`)")
    enrol.add_argument("--start", required=True, help="start date YYYY-MM-DD")
    enrol.add_argument("--ref", default=None, help='the clinic\'s reference, e.g. "MRN 1234"')
    enrol.add_argument(
        "--days", type=int, default=None, help="valid this long (default [staff] enrolment_days)"
    )
    enrol.add_argument(
        "--bot-username", default=None, help="the bot's username (default: ask the Bot API)"
    )
    enrol.set_defaults(func=cmd_enrol)

    audit = command(
        "audit",
        "the audit log of staff actions",
        "Print the audit log, oldest first: time (UTC), who (staff:<user id>, cli, or a\n"
        "patient's pseudonym), action, subject, detail.",
    )
    audit.add_argument(
        "--limit", type=int, default=200, metavar="N", help="the last N entries (200)"
    )
    audit.add_argument("--action", default=None, help="only this action (e.g. refused)")
    audit.set_defaults(func=cmd_audit)
