"""The `ldn-bot` command line: check, run, unanswered, plan, and the parser for all (ask and chat
are in bot/cli_ask.py, staff commands in bot/staff_cli.py, reports in bot/report_cli.py).

Bad config or bad YAML ends with one clear line on stderr and exit status 2, never a traceback.
Input is read as UTF-8 with undecodable bytes replaced; a reader that closes the pipe early
(`| head -1`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from bot.cli_ask import build_engine, cmd_ask, cmd_chat
from bot.config import Config, ConfigError, check_database_moved, load_config
from bot.report_cli import add_commands as add_report_commands
from knowledge import KnowledgeError
from reminders import PlanError
from store import StoreError

EXIT_CONFIG = 2
EXIT_PIPE = 141  # as a shell reports a command ended by SIGPIPE


def cmd_check(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Validate the knowledge base, safety rules and config; print a summary."""
    engine = build_engine(config)
    from reminders import load_plans

    book = load_plans(config.reminders.plans)
    kb = engine.kb
    slides = {s.slide for s in kb.sources.values() if s.kind == "slide"}
    warnings: list[str] = []
    fill = config.clinic.placeholders()
    unset = {
        "name": '"your clinic"',
        "phone": "no number to call",
        "emergency_number": '"your local emergency number"',
        "crisis_line": '"a local crisis line"',
    }
    for key, shown in unset.items():
        if not getattr(config.clinic, key):
            warnings.append(f"[clinic] {key} is not set: answers show {shown}")
    if config.old_database is not None:
        warnings.append(
            f"a database exists at {config.old_database} but not at the configured place; "
            "`ldn-bot run` and `ldn-bot unanswered` will refuse to start empty"
        )
    out.write(
        f"config: {config.source or '(defaults)'}\n"
        f"knowledge: {kb.path}\n"
        f"  {len(kb.entries)} entries in {len(kb.categories)} categories, "
        f"{sum(len(e.questions) for e in kb.entries)} phrasings\n"
        f"  {len(kb.sources)} sources ({len(slides)} slides)\n"
        f"  {len(kb.safety_rules)} safety rules: {', '.join(r.id for r in kb.safety_rules)}\n"
        f"  {len(kb.gaps)} deliberate gaps: {', '.join(g.id for g in kb.gaps)}\n"
        "clinic, as answers will show it:\n"
        f"  contact: {fill['clinic']}\n"
        f"  emergency: {fill['emergency']}\n"
        f"  crisis: {fill['crisis']}\n"
        f"telegram: token {'set' if config.telegram.token else 'not set'}, "
        f"server {config.telegram.base_url}\n"
        f"storage: {_safe_url(config.storage.url)}\n"
        f"plans: {book.path}\n"
        f"  {len(book.plans)} titration plans: {', '.join(book.names())}\n"
        + "".join(f"warning: {w}\n" for w in warnings)
        + "OK\n"
    )
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _safe_url(url: str) -> str:
    """The storage URL without a password."""
    from sqlalchemy.engine import make_url

    # The config loader has already checked that the URL parses.
    return make_url(url).render_as_string(hide_password=True)


def cmd_unanswered(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """List questions the bot could not answer, most frequent first."""
    from store import Store

    check_database_moved(config)
    store = Store.open(config.storage.url)
    try:
        now = datetime.now(UTC)
        days = config.storage.unanswered_retention_days
        store.purge_unanswered(now, days)
        rows = store.unanswered_report(now, days, limit=args.limit)
    finally:
        store.close()
    if not rows:
        out.write(f"No unanswered questions in the last {days} days.\n")
        return 0
    out.write(
        f"Unanswered questions, last {days} days, most frequent first "
        "(times asked, last day asked in UTC, the question with names and numbers removed):\n"
    )
    for row in rows:
        out.write(f"{row.count:5}  {row.last_day:%Y-%m-%d}  {row.question}\n")
    return 0


def cmd_plan(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """List the clinic's titration plans, or show one day by day from a start date."""
    from bot.plan_cli import plan_list, plan_show

    if args.plan_command == "list":
        return plan_list(config, out)
    return plan_show(config, args.name, args.start, args.days, out)


def cmd_run(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Run the Telegram bot with long polling."""
    from bot.run import run_polling

    return run_polling(config)


CONFIG_HELP = (
    "TOML config file (see config.example.toml); relative paths in it are read from its folder"
)
NOT_RECORDED = (
    "It does not record unanswered questions: only the Telegram bot (`ldn-bot run`) keeps\n"
    "them, for `ldn-bot unanswered`."
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ldn-bot",
        description="The LDN companion bot: answers patients' questions about low dose "
        "naltrexone from the clinic's knowledge base, safety first.",
        epilog="Run `ldn-bot COMMAND --help` for a command's own options.",
    )
    p.add_argument("--config", "-c", help=CONFIG_HELP)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(
            name,
            help=summary,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.add_argument("--config", "-c", dest="sub_config", metavar="CONFIG", help=CONFIG_HELP)
        return sp

    ask = command(
        "ask",
        "answer one question ('-' reads one per stdin line)",
        "Print the answer to QUESTION as a patient would read it, with its sources. When the\n"
        "question fits several topics, the suggestions are printed as questions to ask next.\n"
        "With QUESTION '-', every line of standard input is one question.\n\n" + NOT_RECORDED,
    )
    ask.add_argument("question", metavar="QUESTION", help="the question, or - to read stdin")
    ask.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per question, on one line (with '-', one line per input line; "
        'a blank line gets status "empty"); see README for the keys',
    )
    ask.set_defaults(func=cmd_ask)

    chat = command(
        "chat",
        "talk to the engine in the console",
        "A console conversation with the same engine the Telegram bot uses. Type a question;\n"
        "after a clarification, type a suggestion's number to read it. 'quit' or Ctrl-D ends\n"
        "it. Piped input is read line by line until EOF.\n\n" + NOT_RECORDED,
    )
    chat.set_defaults(func=cmd_chat)
    check = command(
        "check",
        "validate knowledge base and config",
        "Load and validate the config, the knowledge base (entries, sources, safety rules,\n"
        "gaps, lexicon) and print a summary: the clinic details as answers will show them,\n"
        "with a warning for each one not set. Exit 2 with one line when anything is invalid.",
    )
    check.set_defaults(func=cmd_check)
    run = command(
        "run",
        "run the Telegram bot (long polling)",
        "Validate everything, open (and migrate) the database, reach the Bot API server, then\n"
        "answer patients on Telegram until SIGINT/SIGTERM. The token comes from the environment\n"
        "variable LDN_BOT_TOKEN or [telegram] token. Unanswered questions are recorded,\n"
        "without any link to the chat, for `ldn-bot unanswered`.",
    )
    run.set_defaults(func=cmd_run)
    un = command(
        "unanswered",
        "questions the bot could not answer, by frequency",
        "List the questions the Telegram bot could not answer, most frequent first, from the\n"
        "database in [storage] url (kept [storage] unanswered_retention_days days, without\n"
        "any link to the chat).",
    )
    un.add_argument(
        "--limit", type=int, default=50, metavar="N", help="show at most N questions (50)"
    )
    un.set_defaults(func=cmd_unanswered)
    plan = command(
        "plan",
        "the clinic's titration plans",
        "List the titration plans (reminders/data/plans.yaml or [reminders] plans), or print\n"
        "one plan's schedule day by day from a start date.",
    )
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    listing = plan_sub.add_parser("list", help="list the plans", description="List the plans.")
    show = plan_sub.add_parser(
        "show", help="a plan's schedule, day by day", description="A plan's schedule, day by day."
    )
    for action in (listing, show):
        action.add_argument(
            "--config", "-c", dest="plan_config", metavar="CONFIG", help=CONFIG_HELP
        )
    show.add_argument("name", help="the plan's name (see plan list)")
    show.add_argument("--start", default=None, help="start date YYYY-MM-DD (default: today)")
    show.add_argument(
        "--days", type=int, default=None, help="days to print (default: to maintenance)"
    )
    plan.set_defaults(func=cmd_plan)
    from bot.staff_cli import add_commands as add_staff_commands

    add_staff_commands(command, CONFIG_HELP)
    add_report_commands(command)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A terminal whose locale cannot show a character gets "?" for it, not a traceback.
        sys.stdout.reconfigure(errors="replace")
    config_path = (
        getattr(args, "plan_config", None)
        or getattr(args, "staff_config", None)
        or getattr(args, "sub_config", None)
        or args.config
    )
    try:
        config = load_config(config_path)
        code: int = args.func(config, args, sys.stdout, sys.stdin)
    except (ConfigError, KnowledgeError, PlanError) as exc:
        print(f"ldn-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StoreError as exc:
        print(f"ldn-bot: storage: {_one_line(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _pipe_closed()
    return code


def _pipe_closed() -> int:
    """The reader went away: end quietly, without Python's own complaint at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
