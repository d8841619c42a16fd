"""Pure-Python inference for the linear models the project trains with scikit-learn (the
safety signal, the reranker): L2-normalised TF-IDF features times per-class weights, then a
softmax. Rows are precomputed per feature as (idf squared, idf times each class's weight), so
a message costs one dictionary look-up and one tuple per feature it has."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

Row = tuple[float, tuple[float, ...]]


def class_probabilities(
    counts: Counter[str],
    rows: Mapping[str, Row],
    intercepts: Sequence[float],
    *,
    sublinear: bool = True,
) -> list[float]:
    """The probability of each class for a message's feature counts."""
    squares = 0.0
    picked: list[tuple[float, ...]] = []
    for feature, count in counts.items():
        row = rows.get(feature)
        if row is None:
            continue
        idf2, weighted = row
        if count == 1:  # most features: tf 1 either way
            squares += idf2
            picked.append(weighted)
            continue
        tf = 1.0 + math.log(count) if sublinear else float(count)
        squares += tf * tf * idf2
        picked.append(tuple(tf * w for w in weighted))
    scores = list(intercepts)
    if picked:
        norm = math.sqrt(squares)
        columns = zip(*picked, strict=True)
        scores = [s + sum(column) / norm for s, column in zip(scores, columns, strict=True)]
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]
