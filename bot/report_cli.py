"""`ldn-bot stats`, `ldn-bot export` and `ldn-bot reload`: the staff reports and the reload,
from the command line (the same code as /stats, /export and /reload)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from bot.config import Config, check_database_moved
from bot.reload import load_files
from bot.reports import build_stats, clinic_today, stats_text
from knowledge import KnowledgeError
from reminders import PlanError
from store import Store
from store.exports import write_export

EXIT_FAILED = 1
RELOAD_WAIT = 30.0  # seconds `ldn-bot reload` waits for a running bot to report
CommandMaker = Callable[[str, str, str], argparse.ArgumentParser]


def _open(config: Config) -> Store:
    check_database_moved(config)
    return Store.open(config.storage.url)


def cmd_stats(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Print what /stats shows."""
    store = _open(config)
    try:
        report = build_stats(store, config, datetime.now(UTC))
    finally:
        store.close()
    out.write(stats_text(report) + "\n")
    return 0


def cmd_export(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Write the export CSV (consenting patients only)."""
    try:
        since = date.fromisoformat(args.since)
    except ValueError:
        print(f"ldn-bot: --since must be a date as YYYY-MM-DD, not {args.since!r}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    until = clinic_today(config, now)
    target = Path(args.out)
    store = _open(config)
    try:
        partial = target.with_name(target.name + ".partial")
        with partial.open("w", encoding="utf-8", newline="") as file:
            rows = write_export(store, since, until, file, now=now)
        partial.replace(target)  # a reader never sees half a file
        store.append_audit("cli", "export", now, detail=f"since {since}: {rows} rows")
    finally:
        store.close()
    out.write(f"{rows} patient-evenings from {since} to {until} written to {target}\n")
    return 0


def cmd_reload(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Validate the files, then tell the running bot to reload them (store, and SIGHUP)."""
    try:
        loaded = load_files(config)
    except (KnowledgeError, PlanError) as exc:
        print(f"ldn-bot: not reloaded: {' '.join(str(exc).split())}", file=sys.stderr)
        print("ldn-bot: the running bot keeps the files it has", file=sys.stderr)
        return 2
    store = _open(config)
    try:
        request_id = store.request_reload(datetime.now(UTC), "cli")
        if args.pid is not None:
            try:
                os.kill(args.pid, signal.SIGHUP)
            except OSError as exc:
                print(
                    f"ldn-bot: could not signal process {args.pid}: {exc.strerror}", file=sys.stderr
                )
        out.write(f"files are valid ({loaded.summary()}); reload requested (#{request_id})\n")
        out.flush()
        deadline = time.monotonic() + args.wait
        while True:
            request = store.get_reload(request_id)
            if request is not None and request.state != "pending":
                break
            if time.monotonic() >= deadline:
                out.write(
                    "no running bot has reported yet; each bot process applies the request "
                    "within seconds of running\n"
                )
                return 0
            time.sleep(0.5)
    finally:
        store.close()
    if request.state == "done":
        out.write(f"reloaded: {request.result}\n")
        return 0
    print(f"ldn-bot: the bot rejected the reload: {request.result}", file=sys.stderr)
    return EXIT_FAILED


def add_commands(command: CommandMaker) -> None:
    """Add stats, export and reload to the `ldn-bot` parser."""
    stats = command(
        "stats",
        "what /stats shows: patients, steps, adherence, side effects, alerts",
        "Print the clinic's figures from the database in [storage] url: active patients and\n"
        "their plan steps, adherence over the last 7 and 30 evenings, side effects reported in\n"
        "the last 7 days, open alerts and the top unanswered questions. Counts only.",
    )
    stats.set_defaults(func=cmd_stats)
    export = command(
        "export",
        "adherence and check-ins of consenting patients, as CSV",
        "Write one CSV row per patient-evening since DATE, for patients who had agreed to\n"
        "share at that evening, keyed by the clinic's reference. The columns are listed in\n"
        "the README (Reports for the clinic).",
    )
    export.add_argument("--since", required=True, metavar="DATE", help="first evening, YYYY-MM-DD")
    export.add_argument("--out", required=True, metavar="FILE.csv", help="the file to write")
    export.set_defaults(func=cmd_export)
    reload = command(
        "reload",
        "reload the knowledge base and plans in the running bot",
        "Validate the knowledge base and the titration plans; when both load, ask every running\n"
        "bot process (through the database) to reload them, and wait for the answer. A broken\n"
        "file is reported with its file, entry and field, and the bot keeps the old ones.",
    )
    reload.add_argument("--pid", type=int, default=None, help="also send SIGHUP to this process")
    reload.add_argument(
        "--wait",
        type=float,
        default=RELOAD_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the bot's answer ({RELOAD_WAIT:g})",
    )
    reload.set_defaults(func=cmd_reload)
