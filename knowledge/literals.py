"""Necessary literals of a regular expression: a set of strings one of which is in every match.

The safety rules are a few hundred regular expressions, and nearly every question matches none
of them. Trying each expression at every position of every question costs more than the whole
matcher; asking first whether any of an expression's necessary literals is in the question
(a substring test) rules most of them out at once. The literals come from the expression's
own parse, so they stay right when the YAML changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

# The standard library's own regular-expression parser: private, but stable across 3.11-3.13.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_ZERO_WIDTH = frozenset({_c.AT, _c.ASSERT, _c.ASSERT_NOT})
_MAX_STRINGS = 64

Literals = frozenset[str]


def necessary_literals(pattern: str) -> Literals | None:
    """Strings such that every match of `pattern` contains at least one of them, or None when
    the pattern has no such set (then it must always be tried)."""
    needed = _sequence(_parser.parse(pattern))
    if needed is None:
        return None
    # "pill" is in every text that holds "pills": the longer one adds nothing.
    return frozenset(x for x in needed if not any(y != x and y in x for y in needed))


def _sequence(items: Iterable[Any]) -> Literals | None:
    """The most selective necessary set among a sequence's parts: runs of fixed text, and the
    necessary sets of groups, alternations and repeats that must occur."""
    candidates: list[Literals] = []
    run: list[Any] = []

    def close_run() -> None:
        options = _exact(run)
        if options is not None and "" not in options:
            candidates.append(options)
        run.clear()

    for op, av in items:
        if op in _ZERO_WIDTH:
            continue  # matches no text: the text on either side stays contiguous
        if _exact_item(op, av) is not None:
            run.append((op, av))
            continue
        close_run()
        inner = _necessary_item(op, av)
        if inner is not None:
            candidates.append(inner)
    close_run()
    if not candidates:
        return None
    return max(candidates, key=lambda s: (min(len(x) for x in s), -len(s)))


def _exact(items: Iterable[Any]) -> Literals | None:
    """Every string a sequence can match, when it can match only a few fixed strings."""
    result: Literals = frozenset({""})
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        options = _exact_item(op, av)
        if options is None:
            return None
        result = frozenset(a + b for a in result for b in options)
        if len(result) > _MAX_STRINGS:
            return None
    return result


def _exact_item(op: Any, av: Any) -> Literals | None:
    if op is _c.LITERAL:
        return frozenset({chr(av)})
    if op is _c.SUBPATTERN:
        return _exact(av[-1])
    if op is _c.BRANCH:
        return _union(_exact(branch) for branch in av[1])
    if op is _c.IN and len(av) <= 4 and all(kind is _c.LITERAL for kind, _ in av):
        return frozenset(chr(value) for _, value in av)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[:2] == (0, 1):
        strings = _exact(av[2])
        return None if strings is None else strings | {""}
    return None


def _necessary_item(op: Any, av: Any) -> Literals | None:
    if op is _c.SUBPATTERN:
        return _sequence(av[-1])
    if op is _c.BRANCH:
        return _union(_sequence(branch) for branch in av[1])
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
        return _sequence(av[2])
    return None


def _union(alternatives: Iterable[Literals | None]) -> Literals | None:
    """The strings of an alternation: None as soon as one branch has none (it needs nothing,
    so the alternation needs nothing)."""
    union: set[str] = set()
    for strings in alternatives:
        if strings is None:
            return None
        union |= strings
    return frozenset(union)


class LiteralIndex:
    """Which keys have one of their literals in a text, found through the text's three-letter
    pieces rather than by testing every literal: a question has a few dozen pieces, the safety
    rules several hundred literals."""

    def __init__(self, literals: dict[Any, Literals | None]) -> None:
        self._always: set[Any] = set()
        self._short: dict[str, set[Any]] = {}
        self._by_piece: dict[str, list[tuple[str, Any]]] = {}
        for key, strings in literals.items():
            if strings is None:
                self._always.add(key)
                continue
            for string in strings:
                if len(string) < 3:
                    self._short.setdefault(string, set()).add(key)
                else:
                    self._by_piece.setdefault(string[:3], []).append((string, key))

    def present(self, text: str) -> set[Any]:
        """The keys that may match `text`: those with a literal in it, and those without
        literals."""
        found = set(self._always)
        for string, keys in self._short.items():
            if string in text:
                found |= keys
        by_piece = self._by_piece
        for piece in {text[i : i + 3] for i in range(len(text) - 2)}:
            for string, key in by_piece.get(piece, ()):
                if key not in found and string in text:
                    found.add(key)
        return found
