"""The safety checker's prefilter: a term is tried only when one of its necessary literals is
in the question, so those literals must be truly necessary, or a crisis would be missed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge import Engine, load
from knowledge.literals import LiteralIndex, necessary_literals
from knowledge.normalize import fold
from knowledge.safety import GapChecker, SafetyChecker
from tests.eval import splits
from tests.eval.evaluate import load_cases


@pytest.mark.parametrize(
    ("pattern", "literals"),
    [
        (r"\bpills?\b", {"pill"}),  # "pills" holds "pill": the shorter one is enough
        (r"\b(took|taken)\s+\w+", {"took", "taken"}),
        (r"(a|b)?c", {"c"}),
        (r"\bfoo(bar)?\b|\bbaz", {"foo", "baz"}),
        (r"a.{0,3}bcd", {"bcd"}),  # the most selective part
        (r"\bod(ed|ing)\b", {"oded", "oding"}),
        (r"(?<!scared of )\boverdos\w*", {"overdos"}),  # look-behinds need no text
        (r"x*", None),  # may match nothing at all: must always be tried
        (r"\w+ing|\bfoo", {"ing", "foo"}),
        (r"\w+|\bfoo", None),  # one branch needs no literal: neither does the whole
    ],
)
def test_necessary_literals(pattern: str, literals: set[str] | None) -> None:
    found = necessary_literals(pattern)
    assert (None if found is None else set(found)) == literals


def _texts() -> list[str]:
    battery = Path(__file__).with_name("safety_battery.txt").read_text(encoding="utf-8")
    messages = [line.split("|", 1)[1] for line in battery.splitlines() if line[:1] not in "#"]
    return [fold(m) for m in messages + [c.q for c in load_cases(splits.TUNING_QUESTIONS)]]


def test_every_match_of_every_safety_term_holds_one_of_its_literals() -> None:
    kb = load()
    texts = _texts()
    checked = 0
    for rule in kb.safety_rules:
        for term in rule.terms:
            literals = necessary_literals(term)
            if literals is None:
                continue
            pattern = re.compile(term)
            for text in texts:
                for match in pattern.finditer(text):
                    checked += 1
                    assert any(lit in match.group() for lit in literals), (rule.id, term, text)
    assert checked > 500  # the battery exercises the terms


def test_the_prefilter_changes_no_verdict() -> None:
    kb = load()
    fast = Engine(kb)._safety
    slow = SafetyChecker(kb.safety_rules, kb.safety_grammar, dict(kb.fuzzy_names))
    every_term = {(r, t) for r, rule in enumerate(kb.safety_rules) for t in range(len(rule.terms))}
    slow._literals = LiteralIndex(dict.fromkeys(every_term))  # every term tried every time
    for text in _texts():
        assert fast.check(text) == slow.check(text), text


def test_the_index_finds_literals_of_every_length() -> None:
    index = LiteralIndex({"a": frozenset({"od"}), "b": frozenset({"tramadol"}), "c": None})
    assert index.present("i od would") == {"a", "c"}
    assert index.present("tramadol") == {"b", "c"}
    assert index.present("xyz") == {"c"}
    assert index.present("") == {"c"}


def test_the_gap_prefilter_changes_no_verdict() -> None:
    kb = load()
    fast = Engine(kb)._gaps
    slow = GapChecker(kb.gaps)
    slow._literals = LiteralIndex(dict.fromkeys(range(len(kb.gaps))))
    for text in _texts():
        assert fast.check(text) == slow.check(text), text
