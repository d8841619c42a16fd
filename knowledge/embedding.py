"""A static sentence embedding: what a message is about, beyond the words it shares with an entry.

Every word piece of a vocabulary has a fixed vector; a message's vector is the mean of its
pieces' vectors, L2-normalised, so two messages about the same thing in different words
("can I drink wine on it" and "is alcohol ok with LDN") point the same way. The vectors were
distilled (model2vec) from the sentence model all-MiniLM-L6-v2 (Apache 2.0), reduced to 128
dimensions and stored as int8 with one float scale per row, with the knowledge base's own
words added to the vocabulary; ``tests/eval/distill_embedding.py`` says how, in a separate
virtual environment (torch is never a dependency of the bot). Inference is a pure-Python
tokenizer and one numpy mean: about 0.02 ms a message.

The tokenizer is BERT's uncased one: lower case, accents stripped, split on white space and
punctuation, then each word greedily into the longest pieces the vocabulary has ("##" marks
a piece inside a word); a word that cannot be split is unknown and adds nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from knowledge.errors import ValidationError

DEFAULT_DIR: Final = Path(__file__).resolve().parent / "data" / "embedding"
VOCAB: Final = "vocab.txt"
VECTORS: Final = "vectors-i8.npy"
SCALES: Final = "scales-f32.npy"
UNKNOWN: Final = "[UNK]"
PADDING: Final = "[PAD]"
PREFIX: Final = "##"  # a piece that continues a word
MAX_WORD: Final = 100  # longer "words" are unknown (BERT's max_input_chars_per_word)
MAX_CACHE: Final = 50_000  # words whose pieces are remembered

Vector = npt.NDArray[np.float32]


def _is_punctuation(ch: str) -> bool:
    """BERT's test: ASCII symbols count as punctuation too ("$", "^", "`")."""
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokens(text: str) -> list[str]:
    """BERT's uncased basic tokenizer: lower case, accents stripped, control characters
    dropped, split on white space, every punctuation character a token of its own."""
    text = unicodedata.normalize("NFD", text.lower())
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Mn":  # an accent, after NFD
            continue
        if ch.isspace() or category.startswith("Z"):
            if word:
                out.append("".join(word))
                word = []
        elif _is_punctuation(ch):
            if word:
                out.append("".join(word))
                word = []
            out.append(ch)
        elif ch == "\ufffd" or category in ("Cc", "Cf", "Co", "Cs", "Cn"):
            continue
        else:
            word.append(ch)
    if word:
        out.append("".join(word))
    return out


@dataclass(frozen=True, eq=False)
class WordPiece:
    """Greedy longest-match WordPiece over a vocabulary (piece -> row)."""

    vocab: Mapping[str, int]
    _cache: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    def word(self, word: str) -> tuple[int, ...]:
        """The rows of one word's pieces; () when it cannot be split (an unknown word)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        vocab = self.vocab
        rows: list[int] = []
        start, size = 0, len(word)
        if size > MAX_WORD:
            start = size + 1  # unknown
        while start < size:
            end = size
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else PREFIX + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                rows = []
                break
            rows.append(found)
            start = end
        if start > size:
            rows = []
        result = tuple(rows)
        if len(self._cache) < MAX_CACHE:
            self._cache[word] = result
        return result

    def pieces(self, text: str) -> list[str]:
        """The pieces of `text` as strings (for tests and for reading); unknown words are
        :data:`UNKNOWN`."""
        names = {row: piece for piece, row in self.vocab.items()}
        out: list[str] = []
        for word in basic_tokens(text):
            rows = self.word(word)
            out.extend(names[r] for r in rows) if rows else out.append(UNKNOWN)
        return out

    def rows(self, text: str) -> list[int]:
        """The vocabulary rows of every known piece of `text`."""
        out: list[int] = []
        for word in basic_tokens(text):
            out.extend(self.word(word))
        return out


@dataclass(frozen=True, eq=False)
class Embedding:
    """Loaded vectors: one int8 row per vocabulary piece, times that row's scale."""

    tokenizer: WordPiece
    vectors: npt.NDArray[np.int8]  # (pieces, dims)
    scales: npt.NDArray[np.float32]  # (pieces,)

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def __call__(self, text: str) -> Vector:
        """The unit vector of `text`; all zeros when it has no known piece."""
        rows = self.tokenizer.rows(text)
        if not rows:
            return np.zeros(self.dims, dtype=np.float32)
        index = np.asarray(rows, dtype=np.intp)
        vector = (self.vectors[index].astype(np.float32) * self.scales[index, None]).mean(axis=0)
        norm = float(np.linalg.norm(vector))
        return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> Embedding:
        vocab_path = directory / VOCAB
        try:
            pieces = vocab_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeError) as exc:
            raise ValidationError(vocab_path.name, None, None, f"cannot read it ({exc})") from exc
        vocab: dict[str, int] = {}
        for number, piece in enumerate(pieces):
            if not piece or piece in vocab:
                raise ValidationError(
                    vocab_path.name, None, None, f"line {number + 1}: empty or repeated piece"
                )
            vocab[piece] = number
        # The unknown and padding pieces add nothing to a message's meaning.
        for special in (UNKNOWN, PADDING):
            vocab.pop(special, None)
        vectors = _array(directory / VECTORS, np.int8, 2)
        scales = _array(directory / SCALES, np.float32, 1)
        if vectors.shape[0] != len(pieces):
            raise ValidationError(
                VECTORS, None, None, f"{vectors.shape[0]} rows for {len(pieces)} pieces"
            )
        if scales.shape[0] != len(pieces):
            raise ValidationError(
                SCALES, None, None, f"{scales.shape[0]} scales for {len(pieces)} pieces"
            )
        if not np.all(np.isfinite(scales)):
            raise ValidationError(SCALES, None, None, "a scale is not a finite number")
        return cls(WordPiece(vocab), vectors, scales)


def _array(path: Path, dtype: type[np.generic], ndim: int) -> npt.NDArray[Any]:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValidationError(path.name, None, None, f"cannot read it ({exc})") from exc
    if array.dtype != dtype or array.ndim != ndim:
        raise ValidationError(
            path.name,
            None,
            None,
            f"{array.dtype} with {array.ndim} dimensions, expected {np.dtype(dtype)} with {ndim}",
        )
    return array


@cache
def packaged_embedding() -> Embedding:
    """The committed vectors, loaded once per process."""
    return Embedding.load()
