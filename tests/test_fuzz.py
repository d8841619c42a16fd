"""Property tests (hypothesis): whatever a patient or a pipe sends, the engine and `ask --json -`
answer without an exception, and `ask --json -` writes exactly one line per line it reads."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli_ask import REPLY_STATUSES, ask_lines
from knowledge import Engine, Reply, Status, load

# Text a patient might paste or a broken client might send: any code point but surrogates
# (Telegram and a UTF-8 decoder never deliver those), with control characters, format characters
# (zero-width, bidi marks), line separators and markup mixed in.
ANY_CHAR = st.characters(exclude_categories=("Cs",))
MARKUP = st.sampled_from(
    [
        "<b>",
        "</b>",
        "<a href='x'>",
        "&amp;",
        "&#0;",
        "*",
        "_",
        "`",
        "```",
        "[x](y)",
        "{clinic}",
        "{",
        "}",
        "%s",
        "\\",
        "/start",
        "@bot",
        "\u200b",
        "\u202e",
        "\ufeff",
        "\u2028",
        "\x85",
        "\x00",
        "\x1b[31m",
        "\t",
        "\r",
        "4.5mg",
        "LDN",
        "naltrexone",
        "kill",
        "overdose",
        "?",
    ]
)
PIECE = st.one_of(st.text(ANY_CHAR, max_size=40), MARKUP)
MESSAGE = st.lists(PIECE, max_size=12).map("".join)
LONG = st.builds(
    lambda piece, n: piece * n,
    st.text(ANY_CHAR, min_size=1, max_size=8),
    st.integers(min_value=500, max_value=6000),
)

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def _valid(reply: Reply, question: str) -> None:
    assert reply.question == question
    assert isinstance(reply.status, Status)
    assert 0.0 <= reply.score <= 100.0
    assert reply.answer.strip()
    if reply.status is Status.ANSWER:
        assert reply.entry_id is not None
    json.dumps(reply.as_json(), ensure_ascii=False).encode("utf-8")


@SETTINGS
@given(question=st.one_of(MESSAGE, LONG))
def test_engine_ask_never_raises(engine: Engine, question: str) -> None:
    _valid(engine.ask(question), question)


@SETTINGS
@given(lines=st.lists(st.one_of(MESSAGE, LONG, st.just(""), st.just("   ")), max_size=8))
def test_ask_json_writes_one_line_per_input_line(engine: Engine, lines: list[str]) -> None:
    # Input lines end at "\n" only (that is how `ldn-bot ask` reads stdin).
    lines = [line.replace("\n", " ") for line in lines]
    out = io.StringIO()
    ask_lines(engine, io.StringIO("".join(f"{line}\n" for line in lines)), out, as_json=True)
    written = out.getvalue()
    assert written.endswith("\n") or not lines
    # splitlines() breaks at more than "\n" (\x85, \u2028, \x1c ...): none may be left raw.
    output = written.splitlines()
    assert len(output) == len(lines)
    for line, text in zip(lines, output, strict=True):
        data = json.loads(text)
        assert data["question"] == line.removesuffix("\r")
        assert data["status"] in REPLY_STATUSES
        if not line.strip():
            assert data["status"] == "empty"
