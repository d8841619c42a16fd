"""The learned safety signal: how likely a message is a crisis that no rule recognised.

A linear model over character n-grams and words (TF-IDF, multinomial logistic regression),
trained by ``make train-safety`` (``tests/eval/train_safety.py``, scikit-learn, dev only) and
committed as plain JSON in ``knowledge/data/safety_signal.json``. Inference here is pure
Python: no numpy or scikit-learn at run time, so installing and starting the bot costs nothing
more. :func:`features` is the one feature extractor, used by the trainer too, so training and
inference cannot drift apart.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Final

from knowledge.errors import ValidationError
from knowledge.linear import class_probabilities
from knowledge.normalize import bare

DEFAULT_PATH: Final = Path(__file__).resolve().parent / "data" / "safety_signal.json"
NONE: Final = "none"
# Negations, past use, idioms, general questions about opioids: not a crisis, but near enough
# to one that a check-in is no harm; only NONE (an everyday question) counts as quiet.
LOOKALIKE: Final = "lookalike"
FORMAT: Final = 1
# Long messages are read in windows of this many words, so that one sentence about a crisis
# inside a long story is not diluted by the story; the most alarming window counts.
WINDOW: Final = 60


def char_grams(token: str, char_min: int = 3, char_max: int = 5) -> list[str]:
    """One word's character n-grams, padded with a space at both ends."""
    padded = f" {token} "
    size = len(padded)
    return [
        padded[start : start + n]
        for n in range(char_min, min(char_max, size) + 1)
        for start in range(size - n + 1)
    ]


def features(folded: str, char_min: int = 3, char_max: int = 5, words: bool = True) -> list[str]:
    """The model's features of text that :func:`knowledge.normalize.fold` has seen: character
    n-grams within each word (padded with a space at both ends), words and word pairs."""
    tokens = bare(folded).split()
    out: list[str] = []
    extend = out.extend
    for token in tokens:
        extend(char_grams(token, char_min, char_max))
    if words:
        extend(["w:" + token for token in tokens])
        extend([f"b:{a} {b}" for a, b in pairwise(tokens)])
    return out


@dataclass(frozen=True, slots=True)
class Signal:
    """The model's reading of one message: the likeliest crisis kind and its probability
    (``kind`` is None when the likeliest class is no crisis at all)."""

    kind: str | None
    crisis: float  # probability that the message is any crisis


class SafetySignal:
    """A loaded model; pure and thread-safe."""

    def __init__(
        self,
        classes: tuple[str, ...],
        idf: dict[str, float],
        weights: dict[str, tuple[float, ...]],
        intercepts: tuple[float, ...],
        threshold: float,
        threshold_answered: float | None = None,
        *,
        char_min: int = 3,
        char_max: int = 5,
        words: bool = True,
        sublinear_tf: bool = True,
    ) -> None:
        if NONE not in classes:
            raise ValueError(f"the classes must include {NONE!r}")
        self.classes = classes
        # A question the knowledge base answers outright is most likely an everyday one: it
        # needs a surer signal than one that ends in a clarification or the fallback.
        self.threshold = threshold
        self.threshold_answered = threshold if threshold_answered is None else threshold_answered
        self._none = classes.index(NONE)
        self._char = (char_min, char_max, words)
        self._sublinear = sublinear_tf
        self._intercepts = intercepts
        # idf folded in: a feature's row is idf * weight per class, with idf squared for the
        # vector's length.
        self._rows = {
            f: (idf[f] * idf[f], tuple(idf[f] * w for w in ws)) for f, ws in weights.items()
        }
        # A word's n-grams that the model knows, remembered: most of a message's n-grams are
        # not in the vocabulary, and the same words come back in message after message.
        self._word_grams = lru_cache(maxsize=16384)(self._word_grams_uncached)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> SafetySignal:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(path.name, None, None, f"cannot read it ({exc})") from exc
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"format {data['format']!r}, expected {FORMAT}")
            classes = tuple(data["classes"])
            vocabulary = data["vocabulary"]
            idf = dict(zip(vocabulary, data["idf"], strict=True))
            rows = data["weights"]
            if len(rows) != len(vocabulary) or any(len(r) != len(classes) for r in rows):
                raise ValueError("weights do not match the vocabulary and classes")
            weights = {f: tuple(r) for f, r in zip(vocabulary, rows, strict=True)}
            options = data["features"]
            return cls(
                classes,
                idf,
                weights,
                tuple(data["intercepts"]),
                float(data["threshold"]),
                float(data["threshold_answered"]),
                char_min=int(options["char_min"]),
                char_max=int(options["char_max"]),
                words=bool(options["words"]),
                sublinear_tf=bool(data["sublinear_tf"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                path.name, None, None, f"not a valid safety signal ({exc})"
            ) from exc

    def _word_grams_uncached(self, token: str) -> tuple[str, ...]:
        rows = self._rows
        return tuple(g for g in char_grams(token, *self._char[:2]) if g in rows)

    def _known_features(self, folded: str) -> list[str]:
        """:func:`features` without those the model does not know, in the same order (the
        same probabilities, computed with fewer look-ups)."""
        tokens = bare(folded).split()
        out: list[str] = []
        extend = out.extend
        word_grams = self._word_grams
        for token in tokens:
            extend(word_grams(token))
        if self._char[2]:
            rows = self._rows
            extend([f for f in ["w:" + t for t in tokens] if f in rows])
            extend([f for f in [f"b:{a} {b}" for a, b in pairwise(tokens)] if f in rows])
        return out

    def probabilities(self, folded: str) -> list[float]:
        """The probability of each class (in :attr:`classes` order) for one window of text."""
        counts = Counter(self._known_features(folded))
        return class_probabilities(counts, self._rows, self._intercepts, sublinear=self._sublinear)

    def read(self, folded: str) -> Signal:
        """The signal for a message (folded), its most alarming window for a long one."""
        tokens = folded.split()
        if len(tokens) <= WINDOW:
            windows = [folded]
        else:
            step = WINDOW // 2
            windows = [
                " ".join(tokens[start : start + WINDOW])
                for start in range(0, len(tokens) - step, step)
            ]
        best: list[float] | None = None
        for window in windows:
            probs = self.probabilities(window)
            if best is None or probs[self._none] < best[self._none]:
                best = probs
        assert best is not None
        crisis = 1.0 - best[self._none]
        kinds = [
            (p, c) for p, c in zip(best, self.classes, strict=True) if c not in (NONE, LOOKALIKE)
        ]
        kind = max(kinds)[1] if kinds else None
        return Signal(kind=kind, crisis=crisis)

    def checkin(self, folded: str, answered: bool) -> str | None:
        """The crisis kind to check in on, or None: the message (folded) is likely a crisis.
        ``answered``: the knowledge base answers it outright (the stricter threshold)."""
        reading = self.read(folded)
        threshold = self.threshold_answered if answered else self.threshold
        return reading.kind if reading.crisis >= threshold else None
