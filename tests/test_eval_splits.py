"""No labelled file is both tuned on and held out; held-out sets parse."""

from __future__ import annotations

from pathlib import Path

from knowledge import load
from tests.eval import splits
from tests.eval.evaluate import load_cases, new_topics, split_files


def test_no_file_is_both_training_and_heldout() -> None:
    heldout = {*splits.heldout_question_sets(), *splits.heldout_safety_sets()}
    training = set(splits.training_files())
    assert training and heldout
    assert not training & heldout
    assert not any(path.is_relative_to(splits.HELDOUT_DIR) for path in training)


def test_evaluation_halves_follow_the_split() -> None:
    files = split_files()
    assert set(files.pop("tuning")) == set(splits.TUNING_QUESTIONS)
    # Each held-out file is scored on its own row.
    assert all(len(paths) == 1 for paths in files.values())
    assert {paths[0] for paths in files.values()} == set(splits.heldout_question_sets())


def test_new_topic_placeholders_resolve_to_an_entry_or_a_gap(tmp_path: Path) -> None:
    kb = load()
    gaps = frozenset(g.id for g in kb.gaps)
    topics = new_topics({e.id for e in kb.entries} | gaps)
    assert topics["what-dose"] in {e.id for e in kb.entries}
    assert topics["storage"] in gaps
    path = tmp_path / "questions-x.yaml"
    path.write_text(
        "- {q: 'how much do I take', expect: answer, entry: 'new:what-dose', kind: blind}\n"
        "- {q: 'fridge?', expect: answer, entry: 'new:storage', kind: blind}\n"
        "- {q: 'swim?', expect: answer, entry: 'new:swimming', kind: blind}\n",
        encoding="utf-8",
    )
    dose, storage, unmapped = load_cases([path], topics, gaps)
    assert (dose.expect, dose.entry) == ("answer", topics["what-dose"])
    assert (storage.expect, storage.entry, storage.gap) == ("not_answered", None, "gap-storage")
    assert (unmapped.expect, unmapped.entry) == ("not_answered", None)


def test_heldout_sets_parse() -> None:
    for path in splits.heldout_question_sets():
        assert load_cases([path]), path
    for path in splits.heldout_safety_sets():
        assert splits.load_safety_lines(path), path
