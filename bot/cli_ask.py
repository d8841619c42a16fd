"""`ldn-bot ask` and `ldn-bot chat`: the knowledge engine on the command line, one question or
one per line (plain or JSON, the `--json` contract in the README), or a console conversation
with the check-in. Not recorded as unanswered: these never open the database."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterable
from typing import TextIO

from bot import texts
from bot.config import Config
from bot.console import HELP_WORDS, OK_WORDS, render_text
from knowledge import Engine, Reply, Status, load

# The `ldn-bot ask --json -` status of a blank input line (it still gets its own output line,
# so that output line N answers input line N).
STATUS_EMPTY = "empty"
REPLY_STATUSES = frozenset({*(s.value for s in Status), STATUS_EMPTY})
# JSON allows these raw inside strings, but str.splitlines() and many readers break lines there.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def build_engine(config: Config) -> Engine:
    return Engine(load(config.knowledge.path), config.clinic)


def lines_of(inp: TextIO) -> TextIO:
    """`inp` read as UTF-8 lines split at "\\n" only, with undecodable bytes replaced."""
    buffer = getattr(inp, "buffer", None)
    if buffer is None:  # already text (tests pass a StringIO)
        return inp
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="replace", newline="\n")


def cmd_ask(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """Answer one question, or one per stdin line with `-`."""
    engine = build_engine(config)
    if args.question == "-":
        ask_lines(engine, lines_of(inp), out, as_json=args.json)
        return 0
    # A command-line argument that is not valid UTF-8 arrives with lone surrogates.
    question = args.question.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if args.json:
        out.write(
            json_line(engine.ask(question).as_json() if question.strip() else empty_json(question))
        )
    else:
        out.write(ask_text(engine.ask(question)) + "\n")
    return 0


def ask_lines(engine: Engine, lines: Iterable[str], out: TextIO, *, as_json: bool) -> None:
    """One reply per line, flushed as it is written; with `as_json` exactly one output line per
    input line, blank ones included."""
    for line in lines:
        question = line.removesuffix("\n").removesuffix("\r")
        if not question.strip():
            if as_json:
                out.write(json_line(empty_json(question)))
                out.flush()
            continue
        reply = engine.ask(question)
        out.write(json_line(reply.as_json()) if as_json else ask_text(reply) + "\n\n")
        out.flush()


def ask_text(reply: Reply) -> str:
    """A reply for `ldn-bot ask`: suggestions are questions to ask next, not numbers to type."""
    text = render_text(reply, numbered=False)
    if reply.status is Status.CLARIFY and reply.suggestions:
        text += (
            "\n\nTo read one, ask it, for example:\n"
            f"  ldn-bot ask {json.dumps(reply.suggestions[0].question, ensure_ascii=False)}"
        )
    return text


def empty_json(question: str) -> dict[str, object]:
    """The object for a blank line: the same keys as an answer's (made from an empty Reply, so
    they cannot drift apart), status "empty"."""
    blank = Reply(question=question, status=Status.FALLBACK, answer="").as_json()
    return {**blank, "status": STATUS_EMPTY}


def json_line(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def cmd_chat(config: Config, args: argparse.Namespace, out: TextIO, inp: TextIO) -> int:
    """An interactive console conversation with the engine; ends at EOF or 'quit'."""
    engine = build_engine(config)
    interactive = inp.isatty()
    reader = inp if interactive else lines_of(inp)
    out.write(
        "LDN companion (console). Ask a question about low dose naltrexone; "
        "'quit' or Ctrl-D to leave.\n"
    )
    last: Reply | None = None
    while True:
        if interactive:
            out.write("\nyou> ")
            out.flush()
        line = reader.readline()
        if not line:
            break
        question = line.strip()
        if not question:
            continue
        if question.lower() in {"quit", "exit", "bye"}:
            break
        reply: Reply | None = None
        if last is not None and last.checkin is not None:
            # An answer to the check-in: the full safety answer, or a note that all is well.
            said = question.lower().strip(" .!")
            answer: str | None = None
            if said in HELP_WORDS:
                help_reply = engine.safety_reply(last.checkin)
                answer = render_text(help_reply) if help_reply is not None else None
            elif said in OK_WORDS:
                emergency = engine.clinic.placeholders()["emergency"]
                answer = texts.CHECKIN_OK_DONE.format(emergency=emergency)
            if answer is not None:
                out.write(("" if interactive else f"\nyou> {question}\n") + "bot> ")
                out.write(answer.replace("\n", "\n     ") + "\n")
                out.flush()
                last = None
                continue
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
