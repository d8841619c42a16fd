"""Text normalisation shared by the safety rules, the gaps and the matcher."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"'})
_CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"\bcan't\b", "cannot"),
        (r"\bwon't\b", "will not"),
        (r"\bain't\b", "is not"),
        (r"n't\b", " not"),
        (r"\bi'm\b", "i am"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
        (r"\b(it|that|what|there|he|she|who|how|where)'s\b", r"\1 is"),
        # The same typed without the apostrophe, as phones and hurried thumbs do.
        (r"\bcant\b", "cannot"),
        (r"\bwont\b", "will not"),
        (r"\b(do|does|did|is|are|was|were|have|has|had|should|could|would)nt\b", r"\1 not"),
        (r"\bim\b", "i am"),
        (r"\bive\b", "i have"),
    )
)
# Dose amounts: "4.5mg" -> "4.5 mg", keep the decimal point inside numbers.
_DOSE = re.compile(r"(\d)(mg|mcg|g|ml)\b")
_NON_WORD = re.compile(r"[^a-z0-9.\s]+|(?<!\d)\.|\.(?!\d)")
_SPACES = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_COMMA = re.compile(r",\s*")
_ASKING = re.compile(
    r"^(?:(?:so|and|but|ok|okay|also|well|hi|hello|hey)\b[\s,]*)*"
    r"(?:what|how|why|when|where|which|who|whose|is|are|am|was|were|can|could|do|does|did|"
    r"will|would|should|shall|may|might|has|have|had|any|tell|explain)\b"
)
# "A and E" (the emergency department) is one place, not two clauses.
_CLAUSE = re.compile(
    r"([.!?;,:]+(?:\s|$)|\s(?:but|(?<!\ba\s)and(?!\se\b)|although|though|however)\s)"
)


def has_invisible(text: str) -> bool:
    return not text.isascii() and any(unicodedata.category(ch) == "Cf" for ch in text)


def fold(text: str, invisible: str = "") -> str:
    """Lower-case, unify quotes and expand contractions; keep punctuation for clause splitting.

    Invisible format characters (soft hyphen, zero-width space) become `invisible`: removed
    they rejoin a split word ("suic\u200bidal"), as a space they separate two ("kill\u00admyself");
    the safety check reads both. Accents and dots ("İ") are dropped after case-folding.
    """
    if text.isascii():
        # Most messages: no compatibility forms, invisible characters or accents to remove.
        text = text.lower().translate(_QUOTES)
    else:
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
        text = "".join(invisible if unicodedata.category(ch) == "Cf" else ch for ch in text)
        text = unicodedata.normalize("NFKD", text.casefold())
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    return _DOSE.sub(r"\1 \2", text)


def clauses(folded: str) -> list[str]:
    """Split folded text into clauses, so a past-tense marker only covers its own clause."""
    return [text for text, _ in joined_clauses(folded)]


def joined_clauses(folded: str) -> list[tuple[str, str]]:
    """The clauses, each with what joins it to the next one ("and", ",", "but", "." ...; ""
    for the last)."""
    pieces = _CLAUSE.split(folded)
    joined: list[tuple[str, str]] = []
    for index in range(0, len(pieces), 2):
        text = pieces[index].strip()
        join = pieces[index + 1].strip() if index + 1 < len(pieces) else ""
        if text:
            joined.append((text, join))
        elif joined and join:
            joined[-1] = (joined[-1][0], join)
    return joined


def split_question(folded: str) -> tuple[str, str]:
    """The question sentences of a longer message and the rest (its context), both folded.

    A sentence is a question if it ends in a question mark or starts like one ("how does it
    work"). With no question sentence, or nothing but, the whole message is the question and
    the context is empty.
    """
    sentences: list[str] = []
    for sentence in _SENTENCE.split(folded.strip()):
        # "I started it yesterday, is that normal?": a comma before a question starts one.
        for part in _COMMA.split(sentence):
            part = part.strip()
            if not part:
                continue
            if (
                sentences
                and not sentences[-1].endswith((".", "!", "?"))
                and not (_ASKING.match(part))
            ):
                sentences[-1] = f"{sentences[-1]}, {part}"
            else:
                sentences.append(part)
    if len(sentences) < 2:
        return folded, ""
    asking = [s.endswith("?") or _ASKING.match(s) is not None for s in sentences]
    if all(asking) or not any(asking):
        return folded, ""
    question = " ".join(s for s, a in zip(sentences, asking, strict=True) if a)
    context = " ".join(s for s, a in zip(sentences, asking, strict=True) if not a)
    return question, context


def bare(folded: str) -> str:
    """Words only: punctuation becomes space (decimal points in numbers survive)."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded.replace("'", " "))).strip()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Phrase rewrites, spelling fixes, stopwords and anchors (from lexicon.yaml)."""

    phrases: Mapping[str, str]
    spelling: Mapping[str, str]
    stopwords: frozenset[str]
    # Words that say a question is about the medicine or this service ("ldn", "it", "clinic"):
    # without one, a word the knowledge base does not know is the subject ("caffeine").
    anchors: frozenset[str] = frozenset()

    def compile(self) -> Normalizer:
        return Normalizer(self)


class Normalizer:
    """Turns a question into matchable tokens; pure, deterministic and cheap."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        ordered = sorted(lexicon.phrases, key=len, reverse=True)
        self._phrase_re = (
            re.compile(r"\b(" + "|".join(re.escape(p) for p in ordered) + r")\b")
            if ordered
            else None
        )

    def text(self, raw: str) -> str:
        """Normalised text: folded, bare, phrases rewritten, spelling fixed."""
        return self.from_folded(fold(raw))

    def from_folded(self, folded: str) -> str:
        """The same for text that `fold` has already seen (folding is the costly part)."""
        words = bare(folded).split()
        fixed = " ".join(self.lexicon.spelling.get(w, w) for w in words)
        if self._phrase_re is not None:
            fixed = self._phrase_re.sub(lambda m: self.lexicon.phrases[m.group(1)], fixed)
        return fixed

    def content(self, normalised: str) -> list[str]:
        """The topic-bearing tokens of normalised text, in order, without stopwords."""
        stop = self.lexicon.stopwords
        return [t for t in normalised.split() if t not in stop]
