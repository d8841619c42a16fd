"""The one place that says which labelled data may be tuned or trained on, and which is held out.

Tuning (and, for the safety classifier, training) may read only :data:`TUNING_QUESTIONS` and
:data:`SAFETY_TRAINING`. Everything under ``tests/eval/heldout/`` and :data:`LEGACY_HELDOUT`
is held out: scored, never tuned or trained on, and only its totals are printed. A new blind
set goes into ``heldout/`` as ``questions-<name>.yaml`` (question sets, the format of
``tuning.yaml``) or ``safety-<name>.txt`` (``KIND|message`` lines, see
:func:`load_safety_lines`), is scored once before anything changes for it, and stays there:
nothing trains on it, ever (issue 12). A battery an earlier round chose something by is spent
as evidence (:data:`SPENT_SAFETY`, for the record) but still never trained on.
``tests/test_eval_splits.py`` checks that no file is on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

EVAL_DIR: Final = Path(__file__).resolve().parent
TESTS_DIR: Final = EVAL_DIR.parent
HELDOUT_DIR: Final = EVAL_DIR / "heldout"

TUNING_QUESTIONS: Final = (
    EVAL_DIR / "tuning.yaml",
    EVAL_DIR / "tuning2.yaml",
    EVAL_DIR / "tuning3.yaml",
    EVAL_DIR / "tuning4.yaml",
    EVAL_DIR / "tuning5.yaml",
    EVAL_DIR / "tuning6.yaml",
    EVAL_DIR / "tuning7.yaml",
    EVAL_DIR / "tuning8.yaml",
)
# The tuning files the safety signal is trained on: all of them.
SIGNAL_QUESTIONS: Final = TUNING_QUESTIONS
# Blind safety batteries that earlier rounds of issue 12 scored and chose a threshold or rules
# by: spent as evidence, yet held out all the same (the issue: "kept as a held-out file that
# nothing trains on"). Scored apart with `safety_eval --spent`.
SPENT_SAFETY: Final = tuple(HELDOUT_DIR / f"safety-blind-{name}.txt" for name in "abcdeijklm")
SAFETY_TRAINING: Final = (
    TESTS_DIR / "safety_battery.txt",  # EXPECT|message: a rule id or none
    TESTS_DIR / "safety_known_misses.txt",  # the same format: crises the rules still miss
    EVAL_DIR / "safety_training.txt",  # KIND|message lines written for the learned signal
    EVAL_DIR / "safety_training2.txt",  # the same, round 7: everyday chat and hard look-alikes
)
# The knowledge base's own phrasings: everyday LDN questions (none of them a crisis), for the
# learned safety signal. Not evaluation data: the matcher is built from them.
KB_ENTRIES: Final = TESTS_DIR.parent / "knowledge" / "data" / "entries.yaml"

# Written from the presentation and the entry catalogue, then scored by every later change:
# still never tuned on, but no longer blind. New halves in heldout/ are the evidence.
LEGACY_HELDOUT: Final = (EVAL_DIR / "heldout.yaml",)

SAFETY_KINDS: Final = ("opioids", "overdose", "severe-reaction", "self-harm")
NOT_SAFETY_KINDS: Final = ("lookalike", "ordinary")


def heldout_question_sets() -> list[Path]:
    return [*LEGACY_HELDOUT, *sorted(HELDOUT_DIR.glob("questions-*.yaml"))]


def heldout_safety_sets() -> list[Path]:
    return sorted(HELDOUT_DIR.glob("safety-*.txt"))


def training_files() -> list[Path]:
    """Everything a tuner or trainer may read."""
    return [*TUNING_QUESTIONS, *SAFETY_TRAINING, KB_ENTRIES]


@dataclass(frozen=True, slots=True)
class TrainingExample:
    message: str
    label: str  # a crisis kind (SAFETY_KINDS) or "none"
    # battery (rule-labelled, look-alikes among its none) | ordinary (an everyday question
    # written for the signal) | offtopic (other chat, written for it too) | in-scope (a
    # tuning question the knowledge base answers) | tuning (its other questions) | kb (an
    # entry's phrasing)
    source: str
    group: str  # examples that share a writer's section or an entry: kept in one CV fold


def safety_training_examples() -> list[TrainingExample]:
    """Every labelled example the learned safety signal may be trained on, in a fixed order."""
    import yaml

    out: list[TrainingExample] = []
    for path in SAFETY_TRAINING:
        section, previous_comment = 0, False
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if raw.lstrip().startswith("#"):
                section += not previous_comment
                previous_comment = True
                continue
            previous_comment = False
            if not raw.strip():
                continue
            label, sep, message = raw.partition("|")
            label = label.strip()
            # ordinary: an everyday LDN question; offtopic: other chat (greetings, names,
            # thanks, trivia). Both written for the signal; the rest are battery lines.
            source = label if label in ("ordinary", "offtopic") else "battery"
            if label.startswith("checkin-"):  # a look-alike the rules check in on (tier 2)
                label = "none"
            label = {"lookalike": "none", "ordinary": "none", "offtopic": "none"}.get(label, label)
            if not sep or label not in (*SAFETY_KINDS, "none") or not message.strip():
                raise ValueError(f"{path.name}, line {number}: expected LABEL|message")
            out.append(TrainingExample(message.strip(), label, source, f"{path.stem}:{section}"))
    for path in SIGNAL_QUESTIONS:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            label = str(item["rule"]) if item["expect"] == "safety" else "none"
            group = f"{path.stem}:{item.get('entry') or item.get('gap') or item['kind']}"
            source = "in-scope" if item["expect"] == "answer" else "tuning"
            out.append(TrainingExample(str(item["q"]), label, source, group))
    for entry in yaml.safe_load(KB_ENTRIES.read_text(encoding="utf-8"))["entries"]:
        for question in entry["questions"]:
            out.append(TrainingExample(str(question), "none", "kb", f"kb:{entry['id']}"))
    return out


@dataclass(frozen=True, slots=True)
class SafetyLine:
    kind: str  # one of SAFETY_KINDS (a crisis) or NOT_SAFETY_KINDS
    message: str

    @property
    def crisis(self) -> bool:
        return self.kind in SAFETY_KINDS


def load_safety_lines(path: Path) -> list[SafetyLine]:
    """``KIND|message`` lines; ``#`` comments and blank lines are skipped.

    KIND is a crisis kind (:data:`SAFETY_KINDS`), ``lookalike`` (negations, past use, idioms,
    general questions about opioids: must not get a safety answer) or ``ordinary`` (an
    everyday LDN question)."""
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        kind, sep, message = raw.partition("|")
        kind = kind.strip()
        if not sep or kind not in (*SAFETY_KINDS, *NOT_SAFETY_KINDS) or not message.strip():
            raise ValueError(f"{path.name}, line {number}: expected KIND|message, got {raw!r}")
        lines.append(SafetyLine(kind, message.strip()))
    return lines
