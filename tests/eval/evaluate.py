"""Evaluation of the engine (and a BM25 reference) on the two labelled halves.

    python -m tests.eval.evaluate            # both halves, engine and BM25, as a table
    python -m tests.eval.evaluate --errors   # also list every miss on the tuning half

The tuning half (`tuning.yaml`, `tuning2.yaml`) is what thresholds, weights and phrasings were
tuned on. `heldout.yaml` was written by a helper from the presentation and the entry catalogue
alone, never tuned on: only its totals are printed, never its misses, so that nobody tunes on it
by accident.
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

HALVES = {
    "tuning": splits.TUNING_QUESTIONS,
    "held-out": tuple(splits.heldout_question_sets()),
}


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


def load_cases(paths: Sequence[Path]) -> list[Case]:
    raw = [item for path in paths for item in yaml.safe_load(path.read_text(encoding="utf-8"))]
    return [
        Case(
            q=str(item["q"]),
            expect=item["expect"],
            kind=item["kind"],
            entry=item.get("entry"),
            rule=item.get("rule"),
            gap=item.get("gap"),
        )
        for item in raw
    ]


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
    halves = {
        name: load_cases(paths)
        for name, paths in HALVES.items()
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
