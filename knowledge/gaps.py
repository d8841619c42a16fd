"""Deliberate gaps: topics the bot declines honestly ("I can't advise on that"), found by
patterns over the folded question before matching (kept apart from the safety rules)."""

from __future__ import annotations

import re

from knowledge.literals import LiteralIndex, necessary_literals
from knowledge.model import Gap


class GapChecker:
    """Finds the deliberate gap a question falls into, or None."""

    def __init__(self, gaps: tuple[Gap, ...]) -> None:
        self._gaps = [
            (
                g,
                re.compile("|".join(f"(?:{p})" for p in g.patterns)),
                re.compile("|".join(f"(?:{p})" for p in g.unless)) if g.unless else None,
            )
            for g in gaps
        ]
        self._literals = LiteralIndex(
            {
                index: necessary_literals(pattern.pattern)
                for index, (_, pattern, _) in enumerate(self._gaps)
            }
        )

    def check(self, folded: str) -> Gap | None:
        possible = self._literals.present(folded)
        for index, (gap, pattern, unless) in enumerate(self._gaps):
            if index not in possible:
                continue
            if pattern.search(folded) and not (unless and unless.search(folded)):
                return gap
        return None
