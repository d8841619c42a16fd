"""The static sentence embedding: BERT-style tokenizer, WordPiece, the mean vector, loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge import ValidationError
from knowledge.embedding import (
    DEFAULT_DIR,
    SCALES,
    UNKNOWN,
    VECTORS,
    VOCAB,
    Embedding,
    WordPiece,
    basic_tokens,
    packaged_embedding,
)


@pytest.fixture(scope="module")
def embedding() -> Embedding:
    return packaged_embedding()


def test_basic_tokens_lower_case_strip_accents_and_split_punctuation() -> None:
    assert basic_tokens("Héllo, CAFÉ-au-lait!! naïve\tok") == [
        "hello",
        ",",
        "cafe",
        "-",
        "au",
        "-",
        "lait",
        "!",
        "!",
        "naive",
        "ok",
    ]
    assert basic_tokens("") == []
    assert basic_tokens("  \n ") == []
    assert basic_tokens("4.5mg?") == ["4", ".", "5mg", "?"]


def test_wordpiece_greedy_longest_match() -> None:
    tok = WordPiece({"un": 0, "##aff": 1, "##able": 2, "aff": 3, "##a": 4})
    assert tok.word("unaffable") == (0, 1, 2)
    assert tok.word("xyz") == ()  # nothing fits: unknown, adds nothing
    assert tok.word("unx") == ()  # a word that cannot be split to the end is unknown whole
    assert tok.rows("Unaffable, xyz") == [0, 1, 2]


def test_packaged_tokenizer_splits_unknown_words_into_pieces(embedding: Embedding) -> None:
    pieces = embedding.tokenizer.pieces("Naltrexone unbelievably")
    assert pieces[0] == "naltrexone"  # a knowledge base word has a vector of its own
    assert pieces[1] == "un" and all(p.startswith("##") for p in pieces[2:])
    assert embedding.tokenizer.pieces("ldn café") == ["ldn", "cafe"]
    assert embedding.tokenizer.pieces("ldn 😀 ok") == ["ldn", UNKNOWN, "ok"]  # no piece fits
    assert embedding.tokenizer.pieces("x" * 150) == [UNKNOWN]  # too long to split


def test_same_text_same_unit_vector(embedding: Embedding) -> None:
    a = embedding("Can I drink wine while on LDN?")
    b = embedding("Can I drink wine while on LDN?")
    assert a.dtype == np.float32 and a.shape == (embedding.dims,)
    assert np.array_equal(a, b)
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-5)
    # The same meaning in other words is closer than another topic.
    close = float(a @ embedding("is alcohol ok with low dose naltrexone"))
    far = float(a @ embedding("what time does the clinic open"))
    assert close > far


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "\x00\x01"])
def test_empty_text_is_the_zero_vector(embedding: Embedding, text: str) -> None:
    vector = embedding(text)
    assert vector.shape == (embedding.dims,)
    assert not vector.any()


def test_long_text_is_fine(embedding: Embedding) -> None:
    vector = embedding("what is it " * 500 + "a" * 3000)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "embedding"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def test_loading_errors_name_the_file(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / VECTORS).write_bytes(b"not numpy")
    with pytest.raises(ValidationError, match=VECTORS):
        Embedding.load(directory)

    directory = _copy(tmp_path / "b")
    np.save(directory / SCALES, np.ones(3, dtype=np.float32))
    with pytest.raises(ValidationError, match=SCALES):
        Embedding.load(directory)

    directory = _copy(tmp_path / "c")
    np.save(directory / VECTORS, np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ValidationError, match=VECTORS):
        Embedding.load(directory)

    directory = _copy(tmp_path / "d")
    (directory / VOCAB).unlink()
    with pytest.raises(ValidationError, match=VOCAB):
        Embedding.load(directory)


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    np.save(directory / SCALES, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValidationError, match=SCALES):
        Embedding.load(directory)
