"""No labelled file is both tuned on and held out; held-out sets parse."""

from __future__ import annotations

from tests.eval import splits
from tests.eval.evaluate import HALVES, load_cases


def test_no_file_is_both_training_and_heldout() -> None:
    heldout = {*splits.heldout_question_sets(), *splits.heldout_safety_sets()}
    training = set(splits.training_files())
    assert training and heldout
    assert not training & heldout
    assert not any(path.is_relative_to(splits.HELDOUT_DIR) for path in training)


def test_evaluation_halves_follow_the_split() -> None:
    assert set(HALVES["tuning"]) == set(splits.TUNING_QUESTIONS)
    assert set(HALVES["held-out"]) == set(splits.heldout_question_sets())


def test_heldout_sets_parse() -> None:
    for path in splits.heldout_question_sets():
        assert load_cases([path]), path
    for path in splits.heldout_safety_sets():
        assert splits.load_safety_lines(path), path
