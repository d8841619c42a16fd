"""Train the learned safety signal (``knowledge/signal.py``) from the training side of the split.

    python -m tests.eval.train_safety           # train, write knowledge/data/safety_signal.json
    python -m tests.eval.train_safety --cv      # cross-validate the candidate models (no write)
    python -m tests.eval.train_safety --cv-tiers  # the same folds, scored as the engine's tiers

Reads only :func:`tests.eval.splits.safety_training_examples` (the safety batteries, the
tuning halves of the evaluation and the knowledge base's own phrasings), never a held-out
file. Deterministic: the same data give the same JSON (lbfgs from zero, no random state).
scikit-learn is a dev dependency; the bot reads the JSON in pure Python.

The model and the threshold (:data:`CHOSEN`) were chosen with ``--cv``: grouped 5-fold
cross-validation, a battery section, a tuning file's entry or a knowledge-base entry being
one group, so that a fold is scored on wording from writers and topics it did not see.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from knowledge import Engine, Status, load
from knowledge.normalize import fold
from knowledge.signal import DEFAULT_PATH, FORMAT, LOOKALIKE, NONE, SafetySignal, features
from tests.eval import splits


@dataclass(frozen=True)
class Options:
    # Round 2 of issue 12: C=30 and 0.6 for the rest, chosen with --cv once off-topic chat
    # (greetings, names, thanks, trivia) was in the training data: at C=10 and 0.4 a quarter
    # of it got a check-in when the knowledge base fell back. Round 3: C=10 with each crisis
    # class weighted 2.5 times "balanced", chosen with --cv: crisis recall 95.1 % at 0.8 / 0.6
    # (92.3 % at C=30 unweighted on the same data), ordinary and off-topic 3.3 %, in-scope 0.9 %.
    # Round 4: 0.65 for the rest, chosen with the rules and hints in the loop (grouped CV of
    # the engine's tiers): the crises written for the signal are caught as often as at 0.6,
    # with fewer check-ins on everyday and off-topic chat. Lead's review of round 4: on the
    # five spent blind batteries (a-e, never trained on) round 4 caught 575 of 600 crises
    # against 588 before it; 0.5 for the rest catches 589 with 30 look-alikes at tier 1 (47
    # before) and 9 of 200 ordinary questions checked in on (12 before); in-scope questions
    # checked in on stay 3 of 513 (tuning) and 1 of 95 (legacy). Safety first: 0.5. Those
    # five batteries are therefore tuning data now; battery f was not used for this choice.
    # Round 5 (2026-12-04): every tuning half is training data. 0.85 for answered questions,
    # chosen with --cv-tiers (grouped CV of the engine's tiers, rules and signal together):
    # as many crises caught as at 0.8, one in-scope check-in fewer; 0.9 loses an overdose.
    # That round also trained on batteries a-e; the issue keeps every blind battery out of
    # training ("nothing trains on"), so the lead moved them back to heldout/ and retrained.
    c: float = 10.0  # inverse regularisation strength
    char_min: int = 3
    char_max: int = 5
    words: bool = True
    min_df: int = 2
    sublinear_tf: bool = True
    class_weight: str | None = "balanced"
    # The probability of any crisis from which the check-in is sent: for a question the
    # knowledge base answers outright, and for the rest (a clarification or the fallback).
    threshold_answered: float = 0.85
    threshold: float = 0.5
    digits: int = 5  # significant digits kept in the JSON
    lookalikes: bool = False  # the batteries' none lines as a class of their own
    # Each crisis class's weight over "balanced": missing a crisis costs more than a check-in.
    crisis_weight: float = 2.5


CHOSEN = Options()
QUIET = (NONE, LOOKALIKE)  # the classes that are no crisis


def fit_sklearn(
    texts: Sequence[str], labels: Sequence[str], options: Options
) -> tuple[TfidfVectorizer, LogisticRegression]:
    """The scikit-learn vectorizer and model, fitted."""

    def analyse(text: str) -> list[str]:
        return features(text, options.char_min, options.char_max, options.words)

    vectorizer = TfidfVectorizer(
        analyzer=analyse,
        min_df=options.min_df,
        sublinear_tf=options.sublinear_tf,
        norm="l2",
        dtype=np.float64,
    )
    matrix = vectorizer.fit_transform([fold(t) for t in texts])
    weights: str | dict[str, float] | None = options.class_weight
    if options.class_weight == "balanced" and options.crisis_weight != 1.0:
        counts = Counter(labels)
        weights = {
            label: len(labels)
            / (len(counts) * n)
            * (1.0 if label in QUIET else options.crisis_weight)
            for label, n in sorted(counts.items())
        }
    model = LogisticRegression(
        C=options.c,
        class_weight=weights,
        solver="newton-cg",
        max_iter=1000,
        tol=1e-7,
    )
    model.fit(matrix, list(labels))
    return vectorizer, model


def fit(texts: Sequence[str], labels: Sequence[str], options: Options) -> dict[str, object]:
    """The model as the JSON document that :class:`knowledge.signal.SafetySignal` loads."""
    return export(*fit_sklearn(texts, labels, options), options)


def export(
    vectorizer: TfidfVectorizer, model: LogisticRegression, options: Options
) -> dict[str, object]:
    classes = [str(c) for c in model.classes_]
    coef = model.coef_
    intercepts = model.intercept_
    if len(classes) == 2:  # binary: one row for the second class; softmax of (-z/2, z/2)
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercepts = np.array([-intercepts[0] / 2, intercepts[0] / 2])
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)

    def r(x: float) -> float:
        return float(f"{x:.{options.digits}g}")

    return {
        "format": FORMAT,
        "note": "Trained by `make train-safety` (tests/eval/train_safety.py); do not edit.",
        "options": asdict(options),
        "features": {
            "char_min": options.char_min,
            "char_max": options.char_max,
            "words": options.words,
        },
        "sublinear_tf": options.sublinear_tf,
        "threshold": options.threshold,
        "threshold_answered": options.threshold_answered,
        "classes": classes,
        "intercepts": [r(x) for x in intercepts],
        "vocabulary": vocabulary,
        "idf": [r(x) for x in vectorizer.idf_],
        "weights": [[r(x) for x in coef[:, j]] for j in range(len(vocabulary))],
    }


def _signal(model: dict[str, object]) -> SafetySignal:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "signal.json"
        path.write_text(json.dumps(model), encoding="utf-8")
        return SafetySignal.load(path)


@dataclass(frozen=True)
class Fold:
    """Out-of-fold crisis probabilities, with what each example is and how it is answered."""

    probabilities: list[float]
    examples: list[splits.TrainingExample]
    answered: list[bool]  # the knowledge base answers it outright (were no rule to match)


def cross_validate(options: Options, folds: int = 5) -> Fold:
    examples = splits.safety_training_examples()
    texts = [e.message for e in examples]
    fit_labels = labels_for(examples, options)
    groups = [e.group for e in examples]
    out = [0.0] * len(examples)
    for train, test in GroupKFold(n_splits=folds).split(texts, fit_labels, groups):
        signal = _signal(fit([texts[i] for i in train], [fit_labels[i] for i in train], options))
        for i in test:
            out[i] = signal.read(fold(texts[i])).crisis
    engine = Engine(load())
    answered = [engine.ordinary(t).status is Status.ANSWER for t in texts]
    return Fold(out, examples, answered)


def report(name: str, result: Fold, pairs: Sequence[tuple[float, float]]) -> None:
    """Rates at each (threshold for answered questions, threshold for the rest)."""
    print(f"\n{name}")
    print(
        "thresholds    crises flagged (per kind)                        "
        "look-alikes  ordinary        in-scope"
    )
    examples = result.examples

    def rate(select: list[int], answered_at: float, other_at: float) -> tuple[int, int]:
        hit = sum(
            result.probabilities[i] >= (answered_at if result.answered[i] else other_at)
            for i in select
        )
        return hit, len(select)

    def pct(pair: tuple[int, int]) -> str:
        return f"{100 * pair[0] / pair[1]:5.1f}" if pair[1] else "  n/a"

    def where(test: Callable[[splits.TrainingExample], bool]) -> list[int]:
        return [i for i, e in enumerate(examples) if test(e)]

    crises = where(lambda e: e.label != NONE)
    look = where(lambda e: e.source == "battery" and e.label == NONE)
    ordinary = where(lambda e: e.source != "battery" and e.label == NONE)
    scope = where(lambda e: e.source == "in-scope")
    for answered_at, other_at in pairs:
        row = [
            f"{kind[:4]} {pct(rate(where(lambda e, k=kind: e.label == k), answered_at, other_at))}"
            for kind in splits.SAFETY_KINDS
        ]
        o = rate(ordinary, answered_at, other_at)
        s = rate(scope, answered_at, other_at)
        print(
            f"  {answered_at:4.2f} {other_at:4.2f}   all {pct(rate(crises, answered_at, other_at))}"
            f"  {'  '.join(row)}   {pct(rate(look, answered_at, other_at))}      "
            f"{pct(o)} ({o[0]}/{o[1]})  {pct(s)} ({s[0]}/{s[1]})"
        )


@dataclass(frozen=True)
class Tiers:
    """What the engine does with each training example, its signal trained without the example's
    fold: the rules' verdict does not depend on the signal, so thresholds can be tried after."""

    examples: list[splits.TrainingExample]
    probabilities: list[float]  # out-of-fold probability of any crisis
    rule: list[bool]  # tier 1: a rule matched
    rules_checkin: list[bool]  # tier 2 from a rule's look-alike mention, whatever the signal
    answered: list[bool]  # the knowledge base answers it outright (the stricter threshold)

    def tier(self, index: int, answered_at: float, other_at: float) -> int:
        if self.rule[index]:
            return 1
        at = answered_at if self.answered[index] else other_at
        return 2 if self.rules_checkin[index] or self.probabilities[index] >= at else 0


def cross_validate_tiers(options: Options, folds: int = 5) -> Tiers:
    """Grouped cross-validation of the two tiers as the engine gives them."""
    result = cross_validate(options, folds)
    engine = Engine(load())
    rule, checkin, answered = [], [], []
    for example in result.examples:
        reply = engine.ordinary(example.message)
        rule.append(engine.ask(example.message).tier == 1)
        checkin.append(engine.rules_checkin(example.message) is not None)
        answered.append(reply.status is Status.ANSWER and not reply.tie_break)
    return Tiers(result.examples, result.probabilities, rule, checkin, answered)


def report_tiers(name: str, tiers: Tiers, pairs: Sequence[tuple[float, float]]) -> None:
    """Per kind: crises at tier 1 and at tier 1 or 2; look-alikes at tier 1; everyday messages
    and in-scope questions at tier 2, on the training side."""
    print(f"\n{name}")
    examples = tiers.examples

    def rate(hits: list[bool]) -> str:
        return f"{100 * sum(hits) / len(hits):5.1f}% ({sum(hits)}/{len(hits)})" if hits else "n/a"

    sides = {"all": range(len(examples))}
    scope = [i for i, e in enumerate(examples) if e.source == "in-scope"]
    for answered_at, other_at in pairs:
        tier = [tiers.tier(i, answered_at, other_at) for i in range(len(examples))]
        print(f"  thresholds {answered_at:.2f} (answered) / {other_at:.2f} (the rest)")
        for side, rows in sides.items():
            for kind in splits.SAFETY_KINDS:
                select = [i for i in rows if examples[i].label == kind]
                print(
                    f"    {side:9} {kind:16} tier 1 {rate([tier[i] == 1 for i in select])}"
                    f"   tier 1 or 2 {rate([tier[i] > 0 for i in select])}"
                )
            look = [
                i for i in rows if examples[i].source == "battery" and examples[i].label == NONE
            ]
            quiet = [i for i in rows if examples[i].source in ("ordinary", "offtopic")]
            print(f"    {side:9} {'look-alikes':16} tier 1 {rate([tier[i] == 1 for i in look])}")
            print(f"    {side:9} {'ordinary':16} tier 2 {rate([tier[i] == 2 for i in quiet])}")
        print(f"    {'tuning':9} {'in-scope':16} tier 2 {rate([tier[i] == 2 for i in scope])}")


def labels_for(examples: Sequence[splits.TrainingExample], options: Options) -> list[str]:
    if not options.lookalikes:
        return [e.label for e in examples]
    return [LOOKALIKE if e.source == "battery" and e.label == NONE else e.label for e in examples]


def train(options: Options = CHOSEN) -> dict[str, object]:
    examples = splits.safety_training_examples()
    return fit([e.message for e in examples], labels_for(examples, options), options)


def train_sklearn(options: Options = CHOSEN) -> tuple[TfidfVectorizer, LogisticRegression]:
    """The same training, returning scikit-learn's objects (to check inference against)."""
    examples = splits.safety_training_examples()
    return fit_sklearn([e.message for e in examples], labels_for(examples, options), options)


def write(model: dict[str, object], path: Path = DEFAULT_PATH) -> None:
    # One feature per line: readable diffs, and the file stays plain data.
    weights = model["weights"]
    assert isinstance(weights, list)
    head = {k: v for k, v in model.items() if k not in ("vocabulary", "idf", "weights")}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ","]
    vocabulary, idf = model["vocabulary"], model["idf"]
    assert isinstance(vocabulary, list) and isinstance(idf, list)
    lines.append('"vocabulary": ' + json.dumps(vocabulary, ensure_ascii=False) + ",")
    lines.append('"idf": ' + json.dumps(idf) + ",")
    lines.append('"weights": [')
    lines.append(",\n".join(json.dumps(w) for w in weights))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="cross-validate the candidates")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--cv-tiers", action="store_true", help="cross-validate the tiers")
    args = parser.parse_args(argv)
    if args.cv_tiers:
        pairs = [(0.8, 0.5), (0.85, 0.5), (0.9, 0.5), (0.85, 0.45), (0.85, 0.55), (0.95, 0.5)]
        report_tiers(f"chosen: {CHOSEN}", cross_validate_tiers(CHOSEN), pairs)
        return 0
    if args.cv:
        pairs = [(0.7, 0.5), (0.8, 0.5), (0.8, 0.6), (0.8, 0.65), (0.8, 0.7), (0.9, 0.6)]
        candidates = {
            "chosen": CHOSEN,
            "look-alike class": replace(CHOSEN, lookalikes=not CHOSEN.lookalikes),
            "crisis weight 1": replace(CHOSEN, crisis_weight=1.0),
            "crisis weight 1.5": replace(CHOSEN, crisis_weight=1.5),
            "C=30": replace(CHOSEN, c=30.0),
            "C=30, crisis weight 1 (round 2)": replace(CHOSEN, c=30.0, crisis_weight=1.0),
            "chars 2-5": replace(CHOSEN, char_min=2),
            "chars 3-4": replace(CHOSEN, char_max=4),
            "no words": replace(CHOSEN, words=False),
            "unweighted": replace(CHOSEN, class_weight=None),
        }
        for name, options in candidates.items():
            report(f"{name}: {options}", cross_validate(options), pairs)
            sys.stdout.flush()
        return 0
    model = train()
    write(model, args.out)
    weights = model["weights"]
    assert isinstance(weights, list)
    print(f"wrote {args.out} ({len(weights)} features, classes {model['classes']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
