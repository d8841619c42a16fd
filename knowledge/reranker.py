"""The learned reranker: which entry a question is most likely about, or none of them.

The rule-based matcher (:mod:`knowledge.matcher`) knows the entries through their own words;
patients use many others. This is a linear model over the question's words, word pairs and
character n-grams (TF-IDF, multinomial logistic regression) with one class per entry and one
for questions the knowledge base does not cover (``ABSTAIN``), trained by ``make
train-matching`` (``tests/eval/train_matching.py``, scikit-learn, dev only) on the entries'
phrasings and the tuning questions, and committed as plain JSON in
``knowledge/data/reranker.json``. Inference is pure Python. :func:`features` is the one feature
extractor, used by the trainer too, so training and inference cannot drift apart.

A second linear model reads the question's static sentence embedding
(:mod:`knowledge.embedding`: what the question is about, in whatever words) with the same
classes; the two models' probabilities are mixed (``Policy.mix``). The engine lets the mixed
reading break the matcher's near ties, doubt a weak answer, and, when it is confident
(``Policy.decide``), answer with the entry it reads or keep a matched question unanswered
(see :class:`Policy` and ``Engine._decide``).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from knowledge.errors import ValidationError
from knowledge.linear import class_probabilities

DEFAULT_PATH: Final = Path(__file__).resolve().parent / "data" / "reranker.json"
ABSTAIN: Final = "-abstain"  # not a valid entry id (ids start with a letter or digit)
FORMAT: Final = 2  # 2: with the embedding model


def features(tokens: Sequence[str], words: Sequence[str]) -> list[str]:
    """The model's features: `tokens` are the matcher's content words of the question
    (spelling-corrected and stemmed, :meth:`knowledge.matcher.Matcher.tokens`), `words` the
    normalised text's words with stopwords ("how long", "what is" tell questions apart)."""
    out: list[str] = ["w:" + t for t in tokens]
    out.extend(f"b:{a} {b}" for a, b in pairwise(words))
    extend = out.extend
    for token in tokens:
        padded = f" {token} "
        size = len(padded)
        for n in range(3, min(5, size) + 1):
            extend([padded[start : start + n] for start in range(size - n + 1)])
    return out


@dataclass(frozen=True, slots=True)
class Reading:
    """The model's view of one question: the likeliest class and the probability of each."""

    top: str  # an entry id or ABSTAIN
    probabilities: dict[str, float]

    def p(self, label: str) -> float:
        return self.probabilities.get(label, 0.0)


@dataclass(frozen=True, slots=True)
class Policy:
    """When the reranker's view counts, chosen by cross-validation (see the trainer).

    - Between entries that the matcher finds good answers, when none is clearly ahead (it would
      ask back): the reranker picks one if it puts at least `floor` on it and `ratio` times as
      much as on the next.
    - A weak answer (a matcher score below `weak`) becomes a question back when the reranker
      puts at least `doubt` on "not covered": "how long does a tattoo take to heal" shares
      "how long" with an entry, and nothing else.

    - With the sentence embedding mixed in (`mix`), a confident reading (`decide`) decides
      alone: it answers with its entry when the matcher scores that entry at least `support`
      (a match weaker than the matcher's own answer threshold may so become an answer), and
      overrules any answer below `keep`; "not covered" leaves the question unanswered.
    """

    floor: float = 0.5
    ratio: float = 1.5
    weak: float = 70.0
    doubt: float = 0.3
    # The weight of the embedding model's probabilities in the mixed reading (0: words alone).
    mix: float = 0.3
    # The mixed reading decides on its own, after safety, the gaps and the empty-message check,
    # when its likeliest class has at least this probability: an entry is answered (unless the
    # question is about a word no entry knows, see Engine._about_something_else, or shares
    # only everyday words with its best match), "not covered" is not. Above 1: never.
    decide: float = 0.3
    # A matcher's outright answer at least this strong stands whatever the reading says.
    keep: float = 80.0
    # ... and answers with an entry only when the matcher scores it at least this much.
    support: float = 35.0


class Reranker:
    """A loaded model; pure and thread-safe."""

    def __init__(
        self,
        classes: tuple[str, ...],
        idf: dict[str, float],
        weights: dict[str, tuple[float, ...]],
        intercepts: tuple[float, ...],
        policy: Policy,
        dense: Dense | None = None,
    ) -> None:
        if ABSTAIN not in classes:
            raise ValueError(f"the classes must include {ABSTAIN!r}")
        if dense is not None and len(dense.intercepts) != len(classes):
            raise ValueError("the embedding model's classes do not match")
        self.classes = classes
        self.policy = policy
        self.dense = dense
        self._intercepts = intercepts
        # idf folded in: a feature's row is idf * weight per class, with idf squared for the
        # vector's length (sublinear tf, l2 norm: scikit-learn's TfidfVectorizer).
        self._rows = {
            f: (idf[f] * idf[f], tuple(idf[f] * w for w in ws)) for f, ws in weights.items()
        }

    def with_policy(self, policy: Policy) -> Reranker:
        """The same model with another policy (for choosing one by cross-validation)."""
        clone = copy.copy(self)
        clone.policy = policy
        return clone

    @property
    def entry_ids(self) -> frozenset[str]:
        return frozenset(c for c in self.classes if c != ABSTAIN)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Reranker:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(path.name, None, None, f"cannot read it ({exc})") from exc
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"format {data['format']!r}, expected {FORMAT}")
            classes = tuple(str(c) for c in data["classes"])
            vocabulary = data["vocabulary"]
            idf = dict(zip(vocabulary, data["idf"], strict=True))
            rows = data["weights"]
            if len(rows) != len(vocabulary) or any(len(r) != len(classes) for r in rows):
                raise ValueError("weights do not match the vocabulary and classes")
            weights = {f: tuple(r) for f, r in zip(vocabulary, rows, strict=True)}
            policy = Policy(**{k: float(v) for k, v in data["policy"].items()})
            dense = Dense.of(data["embedding"], len(classes))
            return cls(classes, idf, weights, tuple(data["intercepts"]), policy, dense)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(path.name, None, None, f"not a valid reranker ({exc})") from exc

    def probabilities(self, tokens: Sequence[str], words: Sequence[str]) -> list[float]:
        """The probability of each class (in :attr:`classes` order)."""
        counts = Counter(features(tokens, words))
        return class_probabilities(counts, self._rows, self._intercepts)

    def read(
        self, tokens: Sequence[str], words: Sequence[str], vector: npt.ArrayLike | None = None
    ) -> Reading:
        """The reading of a question: the words' model alone, or mixed with the embedding
        model's reading of `vector` (the question's :mod:`knowledge.embedding` vector)."""
        probs = self.probabilities(tokens, words)
        mix = self.policy.mix
        if vector is not None and self.dense is not None and mix > 0:
            dense = self.dense.probabilities(vector)
            probs = [(1 - mix) * a + mix * b for a, b in zip(probs, dense, strict=True)]
        best = max(range(len(probs)), key=probs.__getitem__)
        return Reading(self.classes[best], dict(zip(self.classes, probs, strict=True)))


@dataclass(frozen=True, eq=False)
class Dense:
    """Multinomial logistic regression over an embedding: one weight row per dimension."""

    weights: npt.NDArray[np.float64]  # (dims, classes)
    intercepts: npt.NDArray[np.float64]  # (classes,)

    @classmethod
    def of(cls, data: dict[str, Any], classes: int) -> Dense:
        weights = np.asarray(data["weights"], dtype=np.float64)
        intercepts = np.asarray(data["intercepts"], dtype=np.float64)
        if weights.ndim != 2 or weights.shape[1] != classes or intercepts.shape != (classes,):
            raise ValueError("the embedding weights do not match the classes")
        if not (np.all(np.isfinite(weights)) and np.all(np.isfinite(intercepts))):
            raise ValueError("an embedding weight is not a finite number")
        return cls(weights, intercepts)

    def probabilities(self, vector: npt.ArrayLike) -> list[float]:
        scores = np.asarray(vector, dtype=np.float64) @ self.weights + self.intercepts
        exps = np.exp(scores - scores.max())
        return [float(p) for p in exps / exps.sum()]
