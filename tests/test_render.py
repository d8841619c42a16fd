"""Rendering within Telegram's limits, without Telegram."""

from __future__ import annotations

import pytest

from bot import callbacks, render
from knowledge import Engine, Status, load


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def test_pack_keeps_messages_within_the_limit_and_loses_nothing() -> None:
    blocks = ["word " * 300, "x" * 50, "&amp; " * 400]
    messages = render.pack(blocks, limit=1000)
    assert all(len(m) <= 1000 for m in messages)
    joined = " ".join(" ".join(m.split()) for m in messages)
    assert joined.count("word") == 300 and joined.count("&amp;") == 400


def test_split_never_cuts_an_entity_or_a_tag() -> None:
    entity = "a" * 997 + "&amp;" + "b" * 10  # the limit falls inside "&amp;"
    pieces = render.pack([entity], limit=1000)
    assert pieces[0] == "a" * 997 and pieces[1].startswith("&amp;")
    tag = "a" * 990 + '<a href="https://doi.org/x">link</a>'  # ... and inside a tag
    pieces = render.pack([tag], limit=1000)
    assert pieces[0] == "a" * 990 and pieces[1].startswith("<a href=")
    span = "a " * 490 + "<i>Sources are kept together here</i> end"  # ... and inside a span
    pieces = render.pack([span], limit=1000)
    assert all(p.count("<i>") == p.count("</i>") for p in pieces)


def test_split_without_a_late_separator_cuts_at_the_limit() -> None:
    text = "short " + "y" * 3000
    pieces = render.pack([text], limit=1000)
    assert [len(p) for p in pieces[:2]] == [1000, 1000]


def test_every_entry_renders_in_one_message_with_short_buttons(engine: Engine) -> None:
    for entry in engine.entries:
        reply = engine.answer_entry(entry.id)
        assert reply is not None and reply.status is Status.ANSWER
        assert len(render.reply_html(reply)) == 1
        assert len(callbacks.answer_here(entry.id).encode()) <= 64


def test_callback_data_round_trips_and_rejects_junk() -> None:
    assert callbacks.decode(callbacks.answer_here("titration")) == callbacks.Callback(
        "a", "titration"
    )
    for junk in (None, "", "nocolon", "z:1", "a" * 70):
        assert callbacks.decode(junk) is None
    with pytest.raises(ValueError):
        callbacks.answer_here("x" * 70)
