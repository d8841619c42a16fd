"""A BM25 reference (bm25s) over the same entries, for comparison with the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from knowledge import Engine, Status
from knowledge.loader import KnowledgeBase
from knowledge.model import Reply
from knowledge.normalize import Normalizer

if TYPE_CHECKING:
    from tests.eval.evaluate import Case


class BM25Reference:
    """Top BM25 entry above a threshold is the answer; anything below falls back."""

    def __init__(self, kb: KnowledgeBase, threshold: float = 0.0) -> None:
        self.kb = kb
        self.threshold = threshold
        self.normalizer: Normalizer = kb.lexicon.compile()
        corpus = [self._tokens(" ".join([*e.questions, e.topic, *e.keywords])) for e in kb.entries]
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def _tokens(self, text: str) -> list[str]:
        return self.normalizer.content(self.normalizer.text(text)) or ["_"]

    def top(self, question: str) -> tuple[int, float]:
        scores = self.retriever.get_scores(self._tokens(question))
        best = int(np.argmax(scores))
        return best, float(scores[best])

    def ask(self, question: str) -> Reply:
        index, value = self.top(question)
        if value > self.threshold:
            entry = self.kb.entries[index]
            return Reply(question, Status.ANSWER, entry.answer, entry.id, value)
        return Reply(question, Status.FALLBACK, "", None, value)

    def ask_with_rules(self, engine: Engine) -> Callable[[str], Reply]:
        """BM25 in place of our matcher, behind the same safety rules and gaps."""

        def ask(question: str) -> Reply:
            reply = engine.ask(question)
            if reply.status is Status.SAFETY or (
                reply.status is Status.FALLBACK and reply.entry_id is not None
            ):
                return reply
            return self.ask(question)

        return ask

    @classmethod
    def tuned(cls, kb: KnowledgeBase, cases: Sequence[Case]) -> BM25Reference:
        """Pick the threshold that gets the most tuning questions right."""
        ref = cls(kb)
        labelled = [(c, *ref.top(c.q)) for c in cases if c.expect != "safety"]
        best_threshold, best_right = 0.0, -1
        for candidate in sorted({round(v, 3) for _, _, v in labelled} | {0.0}):
            right = sum(
                (v > candidate and kb.entries[i].id == c.entry)
                if c.expect == "answer"
                else (v <= candidate)
                for c, i, v in labelled
            )
            if right > best_right:
                best_threshold, best_right = candidate, right
        ref.threshold = best_threshold
        return ref
