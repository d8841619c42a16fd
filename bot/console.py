"""Plain-text rendering of the engine's replies for the console (`ldn-bot ask` and `chat`)."""

from __future__ import annotations

import textwrap

from bot import texts
from knowledge import Reply, Source, Status

HELP_WORDS = frozenset({"help", "h", "i need help now", "i need help"})
OK_WORDS = frozenset({"ok", "o", "i'm ok", "im ok", "i am ok", "okay"})


def source_line(source: Source) -> str:
    link = source.link
    return f"{source.label} ({link})" if link else source.label


def render_text(reply: Reply, width: int = 88, *, numbered: bool = True) -> str:
    """The reply as a patient would read it in a terminal, sources underneath; a safety
    check-in (tier 2) first.

    `numbered`: suggestions are numbered for a conversation that reads the number back
    (`ldn-bot chat`); otherwise they are listed as questions to ask (`ldn-bot ask`)."""
    lines = []
    if reply.checkin is not None:
        lines += textwrap.wrap(f"[check-in] {texts.checkin(reply.checkin)}", width)
        lines += [f"  (type '{texts.CHECKIN_HELP_BUTTON}' or '{texts.CHECKIN_OK_BUTTON}')", ""]
    lines += textwrap.wrap(reply.answer, width) or [""]
    if reply.status is Status.CLARIFY and numbered:
        lines += [f"  {n}. {s.question}" for n, s in enumerate(reply.suggestions, start=1)]
        lines.append("(type a number to pick one)")
    elif reply.status is Status.CLARIFY:
        lines += [f"  - {s.question}" for s in reply.suggestions]
    if reply.sources:
        lines += ["", "Sources:"]
        lines += [f"  - {source_line(s)}" for s in reply.sources]
    return "\n".join(lines)
