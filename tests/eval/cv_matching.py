"""Grouped cross-validation of the matching on the tuning halves: the evidence for its changes.

    python -m tests.eval.cv_matching             # the engine as committed, per fold and in all
    python -m tests.eval.cv_matching --errors    # also list every miss

The knowledge base's phrasings were written alongside the tuning halves, and about a third of
the tuning questions are near copies of one, so scoring the tuning halves as they are says
little about other people's wording. Here each fold is scored by an engine that has not seen
its wording: the knowledge base without the phrasings that are near copies of a question of
the fold (:data:`NEAR_COPY`, on normalised text), and a reranker trained without the fold's
questions or near copies of them. A group (a tuning file's entry, gap, or a handful of its
off-topic lines) stays in one fold, so a writer's several wordings of one question do not
leak from training into testing.

Reads only :data:`tests.eval.splits.TUNING_QUESTIONS` and the safety training lines (for
off-topic chat), never a held-out file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rapidfuzz import fuzz

from knowledge import Engine, Status, load
from knowledge.loader import KnowledgeBase
from knowledge.model import Reply
from knowledge.normalize import Normalizer
from tests.eval import splits
from tests.eval.evaluate import Case, correct, load_cases, new_topics

NEAR_COPY = 80.0  # rapidfuzz ratio of normalised texts from which a phrasing is a near copy
FOLDS = 5
OFF_TOPIC_GROUP = 4  # off-topic lines of a file are grouped in runs of this many


@dataclass(frozen=True)
class Labelled:
    case: Case
    source: str  # the tuning file's stem
    group: str


def labelled_cases() -> list[Labelled]:
    """Every non-safety tuning question, with its file and CV group, in file order."""
    kb = load()
    gaps = frozenset(g.id for g in kb.gaps)
    topics = new_topics({e.id for e in kb.entries} | gaps)
    out: list[Labelled] = []
    for path in splits.TUNING_QUESTIONS:
        other = 0
        for case in load_cases([path], topics, gaps):
            if case.expect == "safety":
                continue
            label = case.entry or case.gap
            if label is None:
                label = f"{case.kind}-{other // OFF_TOPIC_GROUP}"
                other += 1
            out.append(Labelled(case, path.stem, f"{path.stem}:{label}"))
    return out


def folds(items: Sequence[Labelled], k: int = FOLDS) -> list[list[int]]:
    """Indices of `items` in k folds; a group is never split; deterministic (largest group
    first into the smallest fold, ties by name)."""
    groups: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item.group, []).append(index)
    out: list[list[int]] = [[] for _ in range(k)]
    for name in sorted(groups, key=lambda g: (-len(groups[g]), g)):
        smallest = min(range(k), key=lambda f: (len(out[f]), f))
        out[smallest].extend(groups[name])
    return [sorted(f) for f in out]


def near_copy(normalizer: Normalizer, texts: Sequence[str], others: Sequence[str]) -> list[bool]:
    """For each of `texts`: whether it is a near copy of one of `others`."""
    against = [normalizer.text(o) for o in others]
    return [
        any(fuzz.ratio(norm, o) >= NEAR_COPY for o in against)
        for norm in (normalizer.text(t) for t in texts)
    ]


def without_near_copies(kb: KnowledgeBase, questions: Sequence[str]) -> tuple[KnowledgeBase, int]:
    """The knowledge base without phrasings that are near copies of `questions` (an entry
    keeps at least its first phrasing, its title question), and how many went."""
    normalizer = kb.lexicon.compile()
    entries = []
    removed = 0
    for entry in kb.entries:
        copies = near_copy(normalizer, entry.questions, questions)
        kept = tuple(q for q, c in zip(entry.questions, copies, strict=True) if not c)
        if not kept:
            kept = entry.questions[:1]
        removed += len(entry.questions) - len(kept)
        entries.append(replace(entry, questions=kept))
    return replace(kb, entries=tuple(entries)), removed


# A system under test: (the knowledge base for the fold, the training items) -> ask.
System = Callable[[KnowledgeBase, Sequence[Labelled]], Callable[[str], Reply]]


def engine_system(kb: KnowledgeBase, train: Sequence[Labelled]) -> Callable[[str], Reply]:
    """The matcher alone (the reranker, trained on every tuning question, would have seen
    the fold)."""
    return Engine(kb, rerank=False).ask


@dataclass
class Tally:
    in_right: int = 0
    in_total: int = 0
    out_right: int = 0
    out_total: int = 0

    def add(self, case: Case, ok: bool) -> None:
        if case.expect == "answer":
            self.in_total += 1
            self.in_right += ok
        else:
            self.out_total += 1
            self.out_right += ok

    def row(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:5.1f}% ({a}/{b})" if b else "  -  "

        return (
            f"in-scope right {pct(self.in_right, self.in_total):18} "
            f"not answered {pct(self.out_right, self.out_total)}"
        )


def describe(reply: Reply) -> str:
    got = f"{reply.status.value}:{reply.entry_id}"
    if reply.status is Status.CLARIFY:
        got += "[" + ",".join(s.entry_id for s in reply.suggestions) + "]"
    return f"{got} {reply.score}"


@dataclass(frozen=True)
class Fold:
    number: int
    kb: KnowledgeBase  # without near copies of the fold's questions
    removed: int  # phrasings taken out
    train: list[Labelled]  # the other folds' questions, without near copies of these
    test: list[Labelled]


def cv_folds() -> list[Fold]:
    items = labelled_cases()
    kb = load()
    normalizer = kb.lexicon.compile()
    out = []
    for number, fold in enumerate(folds(items)):
        test = [items[i] for i in fold]
        questions = [t.case.q for t in test]
        fold_kb, removed = without_near_copies(kb, questions)
        held = set(fold)
        rest = [items[i] for i in range(len(items)) if i not in held]
        copies = near_copy(normalizer, [t.case.q for t in rest], questions)
        train = [t for t, c in zip(rest, copies, strict=True) if not c]
        out.append(Fold(number, fold_kb, removed, train, test))
    return out


def score_folds(
    asks: Sequence[tuple[Fold, Callable[[str], Reply]]],
    *,
    errors: bool = False,
    out: Callable[[str], None] = print,
) -> tuple[Tally, dict[str, Tally]]:
    """Score each fold with its ask; print a row per fold, per source file and in all."""
    total = Tally()
    by_source: dict[str, Tally] = {}
    misses: list[str] = []
    for fold, ask in asks:
        tally = Tally()
        for item in fold.test:
            reply = ask(item.case.q)
            ok = correct(item.case, reply)
            tally.add(item.case, ok)
            total.add(item.case, ok)
            by_source.setdefault(item.source, Tally()).add(item.case, ok)
            if not ok:
                want = item.case.entry or item.case.gap or item.case.expect
                misses.append(
                    f"  {item.source:8} {item.case.q!r:64.64} want {want:22} got {describe(reply)}"
                )
        out(f"fold {fold.number} ({fold.removed:3} phrasings out)  {tally.row()}")
    for source, tally in sorted(by_source.items()):
        out(f"{source:28}  {tally.row()}")
    out(f"{'all':28}  {total.row()}")
    if errors:
        out("\nmisses:")
        for line in misses:
            out(line)
    return total, by_source


def cross_validate(
    system: System, *, errors: bool = False, out: Callable[[str], None] = print
) -> tuple[Tally, dict[str, Tally]]:
    """Score `system`, built afresh for each fold."""
    return score_folds(
        [(fold, system(fold.kb, fold.train)) for fold in cv_folds()], errors=errors, out=out
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    cross_validate(engine_system, errors=args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Path", "cross_validate", "folds", "labelled_cases", "without_near_copies"]
