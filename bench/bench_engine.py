"""Engine speed: per-question latency on the real and a 10,000-entry synthetic knowledge base,
recall at that size, questions per second through `ldn-bot ask --json -`, and bm25s alongside.

    python bench/bench_engine.py [--repeat 20]

Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synth_kb import generate  # noqa: E402
from knowledge import Engine, Status, load  # noqa: E402
from tests.eval.bm25_reference import BM25Reference  # noqa: E402
from tests.eval.evaluate import load_cases, split_files  # noqa: E402


def latencies(fn: Callable[[str], object], questions: Sequence[str], repeat: int) -> list[float]:
    for q in questions[:50]:  # warm caches (spelling corrections, regexes)
        fn(q)
    out = []
    for _ in range(repeat):
        for q in questions:
            start = time.perf_counter_ns()
            fn(q)
            out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def describe(name: str, values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
    return (
        f"{name:44} median {statistics.median(values):7.3f} ms   p99 {p99:7.3f} ms   "
        f"({len(values)} asks)"
    )


def cli_throughput(questions: Sequence[str]) -> tuple[float, float]:
    """Questions per second through the console script, start-up included and excluded."""
    payload = "\n".join(questions) + "\n"
    cmd = [sys.executable, "-m", "bot", "ask", "--json", "-"]
    start = time.perf_counter()
    empty = subprocess.run(cmd, input="", capture_output=True, text=True, check=True, cwd=ROOT)
    startup = time.perf_counter() - start
    assert empty.stdout == ""
    start = time.perf_counter()
    done = subprocess.run(cmd, input=payload, capture_output=True, text=True, check=True, cwd=ROOT)
    total = time.perf_counter() - start
    assert len(done.stdout.splitlines()) == len(questions)
    return len(questions) / total, len(questions) / max(total - startup, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--entries", type=int, default=10_000)
    args = parser.parse_args()

    questions = [c.q for paths in split_files().values() for c in load_cases(paths)]
    kb = load()
    engine = Engine(kb)
    bm25 = BM25Reference(kb)
    print(f"real knowledge base: {len(kb.entries)} entries, {len(questions)} evaluation questions")
    print(describe("engine.ask, real KB", latencies(engine.ask, questions, args.repeat)))
    print(describe("bm25s top entry, real KB", latencies(bm25.top, questions, args.repeat)))

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        big = load(generate(Path(tmp) / "kb", args.entries, seed=7))
        big_engine = Engine(big)
        built = time.perf_counter() - start
        big_bm25 = BM25Reference(big)
    own = [e.questions[0] for e in big.entries]
    hits = sum(
        (r := big_engine.ask(q)).status is Status.ANSWER and r.entry_id == e.id
        for q, e in zip(own, big.entries, strict=True)
    )
    top1 = sum(
        big_engine.matcher.rank(big_engine.normalise(q), 1)[0].entry.id == e.id
        for q, e in zip(own, big.entries, strict=True)
    )
    sample = own[:: max(1, len(own) // 1000)] + questions
    print(
        f"synthetic knowledge base: {len(big.entries)} entries, "
        f"{sum(len(e.questions) for e in big.entries)} phrasings, loaded+indexed in {built:.1f} s"
    )
    print(describe("engine.ask, 10k KB", latencies(big_engine.ask, sample, 3)))
    print(describe("bm25s top entry, 10k KB", latencies(big_bm25.top, sample, 3)))
    print(
        f"recall of each entry's own first question at 10k: answered {hits / len(own):.1%}, "
        f"ranked first {top1 / len(own):.1%}"
    )

    with_startup, steady = cli_throughput(questions * 10)
    print(
        f"ldn-bot ask --json -: {with_startup:.0f} questions/s including start-up, "
        f"{steady:.0f} questions/s excluding it ({len(questions) * 10} questions)"
    )


if __name__ == "__main__":
    main()
