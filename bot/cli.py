"""The `ldn-bot` command line: ask, chat, check, run, unanswered.

Bad config or bad YAML ends with one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from bot.config import Config, ConfigError, load_config
from bot.console import render_text
from knowledge import Engine, KnowledgeError, Reply, Status, load
from reminders import PlanError
from store import StoreError

EXIT_CONFIG = 2


def build_engine(config: Config) -> Engine:
    return Engine(load(config.knowledge.path), config.clinic)


def cmd_ask(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Answer one question, or one per stdin line with `-`."""
    engine = build_engine(config)
    if args.question == "-":
        for line in inp:
            question = line.rstrip("\r\n")
            if not question.strip():
                continue
            reply = engine.ask(question)
            out.write(_json(reply) if args.json else render_text(reply) + "\n\n")
            out.flush()
        return 0
    reply = engine.ask(args.question)
    out.write(_json(reply) if args.json else render_text(reply) + "\n")
    return 0


def _json(reply: Reply) -> str:
    return json.dumps(reply.as_json(), ensure_ascii=False) + "\n"


def cmd_chat(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """An interactive console conversation with the engine; ends at EOF or 'quit'."""
    engine = build_engine(config)
    interactive = inp.isatty()
    out.write(
        "LDN companion (console). Ask a question about low dose naltrexone; "
        "'quit' or Ctrl-D to leave.\n"
    )
    last: Reply | None = None
    while True:
        if interactive:
            out.write("\nyou> ")
            out.flush()
        line = inp.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question.lower() in {"quit", "exit", "bye"}:
            break
        reply: Reply | None = None
        if last is not None and last.status is Status.CLARIFY and question.isdigit():
            pick = int(question) - 1
            if 0 <= pick < len(last.suggestions):
                reply = engine.answer_entry(last.suggestions[pick].entry_id)
        if reply is None:
            reply = engine.ask(question)
        out.write(("" if interactive else f"\nyou> {question}\n") + "bot> ")
        out.write(render_text(reply).replace("\n", "\n     ") + "\n")
        out.flush()
        last = reply
    return 0


def cmd_check(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Validate the knowledge base, safety rules and config; print a summary."""
    engine = build_engine(config)
    from reminders import load_plans

    book = load_plans(config.reminders.plans)
    kb = engine.kb
    slides = {s.slide for s in kb.sources.values() if s.kind == "slide"}
    out.write(
        f"config: {config.source or '(defaults)'}\n"
        f"knowledge: {kb.path}\n"
        f"  {len(kb.entries)} entries in {len(kb.categories)} categories, "
        f"{sum(len(e.questions) for e in kb.entries)} phrasings\n"
        f"  {len(kb.sources)} sources ({len(slides)} slides)\n"
        f"  {len(kb.safety_rules)} safety rules: {', '.join(r.id for r in kb.safety_rules)}\n"
        f"  {len(kb.gaps)} deliberate gaps: {', '.join(g.id for g in kb.gaps)}\n"
        f"clinic: phone {'set' if config.clinic.phone else 'NOT SET'}, "
        f"emergency number {'set' if config.clinic.emergency_number else 'NOT SET'}, "
        f"crisis line {'set' if config.clinic.crisis_line else 'NOT SET'}\n"
        f"telegram: token {'set' if config.telegram.token else 'not set'}, "
        f"server {config.telegram.base_url}\n"
        f"storage: {_safe_url(config.storage.url)}\n"
        f"plans: {book.path}\n"
        f"  {len(book.plans)} titration plans: {', '.join(book.names())}\n"
        "OK\n"
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
    out.write(f"Unanswered questions, last {days} days, most frequent first:\n")
    for row in rows:
        out.write(f"{row.count:5}  {row.last_asked:%Y-%m-%d}  {row.question}\n")
    return 0


def cmd_plan(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """List the clinic's titration plans, or show one day by day from a start date."""
    from bot.plan_cli import plan_list, plan_show

    if args.plan_command == "list":
        return plan_list(config, out)
    return plan_show(config, args.name, args.start, args.days, out)


def cmd_run(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Run the Telegram bot with long polling."""
    from bot.app import run_polling

    return run_polling(config)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ldn-bot", description="The LDN companion bot.")
    p.add_argument("--config", "-c", help="TOML config file (see config.example.toml)")
    sub = p.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question ('-' reads one per stdin line)")
    ask.add_argument("question", help="the question, or - for stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="talk to the engine in the console")
    chat.set_defaults(func=cmd_chat)
    check = sub.add_parser("check", help="validate knowledge base and config")
    check.set_defaults(func=cmd_check)
    run = sub.add_parser("run", help="run the Telegram bot (long polling)")
    run.set_defaults(func=cmd_run)
    un = sub.add_parser("unanswered", help="questions the bot could not answer, by frequency")
    un.add_argument("--limit", type=int, default=50)
    un.set_defaults(func=cmd_unanswered)
    plan = sub.add_parser("plan", help="the clinic's titration plans")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    plan_sub.add_parser("list", help="list the plans")
    show = plan_sub.add_parser("show", help="a plan's schedule, day by day")
    show.add_argument("name", help="the plan's name (see plan list)")
    show.add_argument("--start", default=None, help="start date YYYY-MM-DD (default: today)")
    show.add_argument(
        "--days", type=int, default=None, help="days to print (default: to maintenance)"
    )
    plan.set_defaults(func=cmd_plan)
    for sp in (ask, chat, check, run, un, plan):
        sp.add_argument("--config", "-c", dest="sub_config", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config_path = getattr(args, "sub_config", None) or args.config
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
    return code


if __name__ == "__main__":
    sys.exit(main())
