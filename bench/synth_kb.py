"""Generate a synthetic knowledge base of N entries for the scaling benchmark.

    python bench/synth_kb.py OUT_DIR [--entries 10000] [--seed 7]

Entries get questions built from templates around rare made-up words (as real topics have
their own vocabulary) plus common words shared by many entries (as "ldn", "dose", "pain" are).
Sources, safety rules, gaps and lexicon are copied from the real knowledge base, so the real
loader validates the result.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import yaml

from knowledge.loader import DEFAULT_PATH

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "zi",
    "pe",
    "su",
    "dra",
    "fen",
    "gol",
    "hix",
    "jor",
    "kel",
    "lum",
    "mor",
    "nix",
    "pol",
    "quo",
    "ras",
    "sel",
    "tor",
]
COMMON = [
    "ldn",
    "dose",
    "pain",
    "sleep",
    "night",
    "doctor",
    "effect",
    "week",
    "body",
    "tablet",
    "morning",
    "study",
    "trial",
    "patients",
    "clinic",
    "evidence",
    "symptoms",
    "daily",
]
TEMPLATES = [
    "what is {a} {b}",
    "does ldn help with {a} {c}",
    "how does {b} affect {a}",
    "{a} {b} {common}",
    "is {c} normal with {a}",
    "tell me about {b} and {c}",
]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))


def generate(out: Path, entries: int, seed: int) -> Path:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("sources.yaml", "safety.yaml", "gaps.yaml", "lexicon.yaml"):
        shutil.copy(DEFAULT_PATH / name, out / name)
    vocabulary = sorted({word(rng) for _ in range(entries * 3)})
    items = []
    for index in range(entries):
        a, b, c = rng.sample(vocabulary, 3)
        questions = [t.format(a=a, b=b, c=c, common=rng.choice(COMMON)) for t in TEMPLATES]
        items.append(
            {
                "id": f"e{index:05d}",
                "category": "synthetic",
                "topic": f"{a} {b}",
                "questions": questions,
                "keywords": [a, b, c],
                "answer": f"Synthetic answer about {a} and {b}.",
                "sources": ["slide-dosage"],
            }
        )
    data = {"categories": [{"id": "synthetic", "title": "Synthetic"}], "entries": items}
    (out / "entries.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.entries, args.seed)
    print(f"wrote {args.entries} entries to {args.out}")


if __name__ == "__main__":
    main()
