"""Plain-text rendering of the engine's replies for the console (`ldn-bot ask` and `chat`)."""

from __future__ import annotations

import textwrap

from knowledge import Reply, Source, Status


def source_line(source: Source) -> str:
    link = source.link
    return f"{source.label} ({link})" if link else source.label


def render_text(reply: Reply, width: int = 88) -> str:
    """The reply as a patient would read it in a terminal, sources underneath."""
    lines = textwrap.wrap(reply.answer, width) or [""]
    if reply.status is Status.CLARIFY:
        lines += [f"  {n}. {s.question}" for n, s in enumerate(reply.suggestions, start=1)]
        lines.append("(type a number to pick one)")
    if reply.sources:
        lines += ["", "Sources:"]
        lines += [f"  - {source_line(s)}" for s in reply.sources]
    return "\n".join(lines)
