"""Evaluation of the engine (and a BM25 reference) on the two labelled halves.

    python -m tests.eval.evaluate            # both halves, engine and BM25, as a table
    python -m tests.eval.evaluate --errors   # also list every miss on the tuning half

The tuning half (`splits.TUNING_QUESTIONS`) is what thresholds, weights and phrasings were
tuned on. Every held-out file (`splits.heldout_question_sets()`) is scored and printed on its own
row, never tuned on: only its totals are printed, never its misses, so that nobody tunes on it
by accident.

A blind file may label a topic the knowledge base lacked as `entry: new:<topic>`;
`new_topics.yaml` maps each to the entry that now answers it (expect that entry) or to a gap
(expect not answered); an unmapped placeholder is expected not to be answered.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge import Engine, Status, load
from knowledge.model import Reply
from tests.eval import splits

NEW_TOPICS = splits.EVAL_DIR / "new_topics.yaml"
NEW_PREFIX = "new:"


def split_files() -> dict[str, tuple[Path, ...]]:
    """The tuning half, then each held-out file on its own."""
    out: dict[str, tuple[Path, ...]] = {"tuning": splits.TUNING_QUESTIONS}
    for path in splits.heldout_question_sets():
        out[f"held-out {path.stem}"] = (path,)
    return out


def new_topics(kb_ids: set[str] | None = None) -> dict[str, str]:
    """Placeholder topic -> the entry or gap id that handles it (checked against `kb_ids`)."""
    raw = yaml.safe_load(NEW_TOPICS.read_text(encoding="utf-8")) or {}
    mapping = {str(k): str(v) for k, v in raw.items()}
    if kb_ids is not None:
        unknown = sorted(v for v in mapping.values() if v not in kb_ids)
        if unknown:
            raise ValueError(f"{NEW_TOPICS.name}: unknown entry or gap {unknown[0]!r}")
    return mapping


@dataclass(frozen=True)
class Case:
    q: str
    expect: str  # answer | not_answered | safety
    kind: str
    entry: str | None = None
    rule: str | None = None
    gap: str | None = None


@dataclass(frozen=True)
class Metrics:
    in_scope: tuple[int, int]  # answered with the right entry / in-scope questions
    not_answered: tuple[int, int]  # fallback or clarify / out-of-scope and gap questions
    safety_caught: tuple[int, int]  # safety / safety questions
    false_alarms: tuple[int, int]  # safety / non-safety questions

    @staticmethod
    def pct(pair: tuple[int, int]) -> float:
        return 100.0 * pair[0] / pair[1] if pair[1] else 0.0

    def row(self) -> list[str]:
        return [
            f"{self.pct(p):5.1f}% ({p[0]}/{p[1]})"
            for p in (self.in_scope, self.not_answered, self.safety_caught, self.false_alarms)
        ]


def load_cases(
    paths: Sequence[Path], topics: dict[str, str] | None = None, gaps: frozenset[str] = frozenset()
) -> list[Case]:
    raw = [item for path in paths for item in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return [_case(item, topics or {}, gaps) for item in raw]


def _case(item: dict[str, object], topics: dict[str, str], gaps: frozenset[str]) -> Case:
    expect = str(item["expect"])
    entry = item.get("entry")
    gap = item.get("gap")
    if isinstance(entry, str) and entry.startswith(NEW_PREFIX):
        target = topics.get(entry.removeprefix(NEW_PREFIX))
        if target is None or target in gaps:
            expect, entry, gap = "not_answered", None, target
        else:
            expect, entry = "answer", target
    return Case(
        q=str(item["q"]),
        expect=expect,
        kind=str(item["kind"]),
        entry=entry if isinstance(entry, str) else None,
        rule=item.get("rule") if isinstance(item.get("rule"), str) else None,  # type: ignore[arg-type]
        gap=gap if isinstance(gap, str) else None,
    )


def correct(case: Case, reply: Reply) -> bool:
    if case.expect == "answer":
        return reply.status is Status.ANSWER and reply.entry_id == case.entry
    if case.expect == "safety":
        return reply.status is Status.SAFETY
    return reply.status in (Status.FALLBACK, Status.CLARIFY)


def score(cases: Sequence[Case], ask: Callable[[str], Reply]) -> Metrics:
    counts = {"in": [0, 0], "out": [0, 0], "safe": [0, 0], "alarm": [0, 0]}
    for case in cases:
        reply = ask(case.q)
        safety = reply.status is Status.SAFETY
        if case.expect == "safety":
            counts["safe"][1] += 1
            counts["safe"][0] += safety
            continue
        counts["alarm"][1] += 1
        counts["alarm"][0] += safety
        bucket = "in" if case.expect == "answer" else "out"
        counts[bucket][1] += 1
        counts[bucket][0] += correct(case, reply)
    return Metrics(*(tuple(counts[k]) for k in ("in", "out", "safe", "alarm")))  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list misses on the tuning half")
    parser.add_argument("--no-bm25", action="store_true", help="skip the BM25 reference")
    parser.add_argument("--tuning-only", action="store_true", help="score the tuning half only")
    args = parser.parse_args(argv)

    kb = load()
    engine = Engine(kb)
    gap_ids = frozenset(g.id for g in kb.gaps)
    topics = new_topics({e.id for e in kb.entries} | gap_ids)
    halves = {
        name: load_cases(paths, topics, gap_ids)
        for name, paths in split_files().items()
        if not (args.tuning_only and name != "tuning")
    }
    systems: dict[str, Callable[[str], Reply]] = {"engine": engine.ask}
    if not args.no_bm25:
        from tests.eval.bm25_reference import BM25Reference

        bm25 = BM25Reference.tuned(kb, halves["tuning"])
        systems[f"bm25 alone (threshold {bm25.threshold:.2f})"] = bm25.ask
        systems["bm25 + our safety rules and gaps"] = bm25.ask_with_rules(engine)

    header = [
        "half",
        "system",
        "in-scope correct",
        "out/gaps not answered",
        "safety caught",
        "false alarms",
    ]
    rows = [
        [name, system, *score(cases, ask).row()]
        for name, cases in halves.items()
        for system, ask in systems.items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))

    if args.errors:
        print("\nmisses on the tuning half:")
        for case in halves["tuning"]:
            reply = engine.ask(case.q)
            if not correct(case, reply):
                want = case.entry or case.rule or case.gap or case.expect
                got = f"{reply.status.value}:{reply.entry_id}"
                if reply.status is Status.CLARIFY:
                    got += "[" + ",".join(s.entry_id for s in reply.suggestions) + "]"
                print(f"  {case.kind:12} {case.q!r:70.70} want {want:22} got {got} {reply.score}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
