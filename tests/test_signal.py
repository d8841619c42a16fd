"""The learned safety signal: reproducible training, pure-Python inference, the engine's tiers."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from knowledge import Engine, KnowledgeError, Status, load
from knowledge.normalize import fold
from knowledge.signal import DEFAULT_PATH, SafetySignal
from tests.eval import splits, train_safety


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


@pytest.fixture(scope="module")
def examples() -> list[splits.TrainingExample]:
    return splits.safety_training_examples()


@pytest.fixture(scope="module")
def retrained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path, Any]:
    vectorizer, model = train_safety.train_sklearn()
    document = train_safety.export(vectorizer, model, train_safety.CHOSEN)
    path = tmp_path_factory.mktemp("signal") / "safety_signal.json"
    train_safety.write(document, path)
    return document, path, (vectorizer, model)


def test_retraining_reproduces_the_committed_signal(
    retrained: tuple[dict[str, object], Path, Any], examples: list[splits.TrainingExample]
) -> None:
    model, path, _ = retrained
    committed = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    for key in ("format", "classes", "features", "threshold", "threshold_answered", "vocabulary"):
        assert model[key] == committed[key], key
    for ours, theirs in (
        (model["intercepts"], committed["intercepts"]),
        (model["idf"], committed["idf"]),
    ):
        assert isinstance(ours, list)
        assert all(
            math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4)
            for a, b in zip(ours, theirs, strict=True)
        )
    weights = model["weights"]
    assert isinstance(weights, list)
    worst = max(
        abs(a - b)
        for row, other in zip(weights, committed["weights"], strict=True)
        for a, b in zip(row, other, strict=True)
    )
    assert worst < 1e-3, f"weights drifted by {worst}; run `make train-safety` and commit"

    fresh, shipped = SafetySignal.load(path), SafetySignal.load()
    for example in examples:
        folded = fold(example.message)
        for answered in (False, True):
            assert fresh.checkin(folded, answered) == shipped.checkin(folded, answered), (
                example.message
            )


def test_pure_python_inference_matches_scikit_learn(
    retrained: tuple[dict[str, object], Path, Any], examples: list[splits.TrainingExample]
) -> None:
    import numpy as np

    _, path, (vectorizer, model) = retrained
    signal = SafetySignal.load(path)
    assert list(model.classes_) == list(signal.classes)
    texts = [fold(e.message) for e in examples[::5]]
    expected = model.predict_proba(vectorizer.transform(texts))
    got = np.array([signal.probabilities(t) for t in texts])
    # The JSON keeps five significant digits: probabilities agree to well under a percent.
    assert np.abs(expected - got).max() < 2e-3


def _flagged(engine: Engine, examples: list[splits.TrainingExample]) -> list[str]:
    return [e.message for e in examples if engine.ask(e.message).tier == 2]


def test_tier_two_keeps_the_ordinary_reply_and_names_the_kind(
    engine: Engine, examples: list[splits.TrainingExample]
) -> None:
    flagged = _flagged(engine, examples)
    assert flagged
    for message in flagged:
        reply = engine.ask(message)
        assert reply.status is not Status.SAFETY
        assert reply.checkin in splits.SAFETY_KINDS
        ordinary = engine.ordinary(message)
        assert (reply.status, reply.answer, reply.entry_id) == (
            ordinary.status,
            ordinary.answer,
            ordinary.entry_id,
        )
        data = reply.as_json()
        assert (data["tier"], data["checkin"]) == (2, reply.checkin)


def test_tier_one_is_the_rules_alone(
    engine: Engine, examples: list[splits.TrainingExample]
) -> None:
    quiet = SafetySignal.load()
    quiet.threshold = quiet.threshold_answered = 2.0  # never flags
    rules_only = Engine(engine.kb, signal=quiet)
    for example in examples[::5]:
        ours, rules = engine.ask(example.message), rules_only.ask(example.message)
        assert (ours.status is Status.SAFETY) == (rules.status is Status.SAFETY)
        # Without the signal, a check-in comes only from a rule's look-alike mention.
        assert rules.checkin == engine.rules_checkin(example.message)
        assert rules.tier == (1 if rules.status is Status.SAFETY else 2 if rules.checkin else 0)
        if ours.tier == 1:
            assert ours.checkin is None and ours.as_json()["tier"] == 1


def test_a_stricter_threshold_for_questions_the_knowledge_base_answers(
    engine: Engine, examples: list[splits.TrainingExample]
) -> None:
    signal = engine.signal
    assert signal.threshold <= signal.threshold_answered
    for example in examples[::3]:
        folded = fold(example.message)
        crisis = signal.read(folded).crisis
        # As the engine reads it: a reranker's tie-break is not an outright answer.
        ordinary = engine.ordinary(example.message)
        answered = ordinary.status is Status.ANSWER and not ordinary.tie_break
        expected = crisis >= (signal.threshold_answered if answered else signal.threshold)
        reply = engine.ask(example.message)
        if reply.status is not Status.SAFETY and engine.rules_checkin(example.message) is None:
            assert (reply.tier == 2) == expected


def test_every_safety_kind_has_a_full_answer(engine: Engine) -> None:
    for kind in splits.SAFETY_KINDS:
        reply = engine.safety_reply(kind)
        assert reply is not None and reply.status is Status.SAFETY and reply.entry_id == kind
    assert engine.safety_reply("no-such-rule") is None


def test_severe_skin_reactions_are_in_the_severe_reaction_rule(engine: Engine) -> None:
    skin = [
        e.message
        for e in splits.safety_training_examples()
        if e.label == "severe-reaction" and any(w in e.message for w in ("blister", "peel"))
    ]
    assert len(skin) >= 5
    assert all(engine.ask(m).entry_id == "severe-reaction" for m in skin)
    # The signal learned them too: were the rule to miss one, the check-in would still ask.
    assert all(engine.signal.checkin(fold(m), answered=False) == "severe-reaction" for m in skin)


def test_a_bad_signal_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "safety_signal.json"
    path.write_text('{"format": 1, "classes": ["none"]}', encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"safety_signal\.json"):
        SafetySignal.load(path)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"safety_signal\.json"):
        SafetySignal.load(path)


def test_long_messages_and_odd_input_never_fail(engine: Engine) -> None:
    for text in ("", " ", "?" * 5000, "a" * 30_000, "ldn " * 6000, "\u200b\u00ad", "💊" * 100):
        reply = engine.ask(text)
        assert reply.tier in (0, 1, 2)
