"""Fuzzy matching of a normalised question against the knowledge base's phrasings.

Each entry's questions, topic and keywords are indexed. A question is scored against a
shortlist of phrasings (found through an inverted index, so the cost does not grow with the
size of the knowledge base) by three signals, all 0-1:

- weighted overlap: Dice coefficient of the question's and the phrasing's words, each word
  weighted by its inverse document frequency, so "dreams" counts more than "take";
- fuzzy similarity: rapidfuzz's token_sort_ratio of the two word lists (word order, typos left
  after spelling correction, partial words);
- coverage: the share of the question's weight that the entry's whole vocabulary explains. An
  unknown word ("ibuprofen", "covid") lowers it, which is what keeps look-alike questions about
  other subjects from getting an LDN answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from knowledge.model import Entry
from knowledge.normalize import Normalizer


@dataclass(frozen=True, slots=True)
class Weights:
    """How the signals combine into the 0-100 score."""

    overlap: float = 0.40  # share of the best phrasing's weight found in the question
    coverage: float = 0.60  # share of the question's weight the entry's vocabulary explains
    fuzzy: float = 0.17  # rapidfuzz similarity of the word lists (scaled by coverage)
    surface: float = 0.10  # similarity of the whole texts, stopwords included ("how does it work"
    # against "does it work"); small, it mostly breaks ties
    unknown: float = 1.0  # weight of a word no entry knows, relative to the rarest known word
    # Words of a long message's context (the story around the question sentence, see
    # normalize.split_question) count for less: in coverage, an unexplained context word weighs
    # `context` of a question word; in overlap, a context word found in a phrasing counts
    # `context_overlap`, so that a story word alone ("last spring") cannot carry a phrasing.
    context: float = 0.5
    context_overlap: float = 0.8


@dataclass(frozen=True, slots=True)
class Scored:
    entry: Entry
    score: float  # 0-100
    phrasing: str
    # Whether the question shares a word with the entry's topic or keywords (its subject), not
    # only everyday words of its phrasings ("can", "feel", "start"), which alone never answer.
    on_topic: bool = True
    # ... and a word of its subject that names few entries ("dose", not "ldn"): for one-word
    # questions that fit several entries.
    specific: bool = True


def stem(word: str) -> str:
    """A light suffix stripper: enough to join "dreams"/"dream" and "sleeping"/"sleep"."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word


class Matcher:
    """Scores questions against every entry's phrasings; pure and thread-safe after build."""

    def __init__(
        self,
        entries: Sequence[Entry],
        normalizer: Normalizer,
        *,
        weights: Weights | None = None,
        shortlist: int = 40,
        common_share: float = 0.2,
        subject_share: float = 0.15,
    ) -> None:
        self.entries = tuple(entries)
        self.normalizer = normalizer
        self.weights = weights or Weights()
        self.shortlist = shortlist

        phrasing_entry: list[int] = []
        phrasing_text: list[str] = []
        phrasing_surface: list[str] = []
        phrasing_tokens: list[frozenset[str]] = []
        entry_vocab: list[frozenset[str]] = []
        entry_subject: list[frozenset[str]] = []
        raw_vocab: set[str] = set()
        for index, entry in enumerate(self.entries):
            texts = [*entry.questions, entry.topic, *entry.keywords]
            vocab: set[str] = set()
            subject: set[str] = set()
            for position, text in enumerate(texts):
                norm = normalizer.text(text)
                words = normalizer.content(norm)
                raw_vocab.update(norm.split())
                stems = [stem(w) for w in words]
                vocab.update(stems)
                if position >= len(entry.questions):
                    subject.update(stems)
                if not stems:
                    continue
                phrasing_entry.append(index)
                phrasing_text.append(" ".join(stems))
                phrasing_surface.append(norm)
                phrasing_tokens.append(frozenset(stems))
            entry_vocab.append(frozenset(vocab))
            entry_subject.append(frozenset(subject))

        n = max(len(self.entries), 1)
        df: dict[str, int] = {}
        for entry_words in entry_vocab:
            for token in entry_words:
                df[token] = df.get(token, 0) + 1
        self._idf = {t: math.log((n + 1) / (d + 0.5)) for t, d in df.items()}
        self._idf_unknown = self.weights.unknown * math.log((n + 1) / 0.5)
        self._entry_vocab = entry_vocab
        # A word in the subject of many entries ("ldn", "pain") names none of them.
        subject_df: dict[str, int] = {}
        for subject_words in entry_subject:
            for token in subject_words:
                subject_df[token] = subject_df.get(token, 0) + 1
        generic = {t for t, d in subject_df.items() if d > max(3, subject_share * n)}
        self._entry_subject = entry_subject
        self._entry_specific = [words - generic for words in entry_subject]
        self._phrasing_entry = phrasing_entry
        self._phrasing_text = phrasing_text
        self._phrasing_surface = phrasing_surface
        self._phrasing_tokens = phrasing_tokens
        self._phrasing_weight = [sum(self._idf[t] for t in toks) for toks in phrasing_tokens]
        self._tiebreak = [1e-6 * w for w in self._phrasing_weight]

        postings: dict[str, list[int]] = {}
        for pid, toks in enumerate(phrasing_tokens):
            for token in toks:
                postings.setdefault(token, []).append(pid)
        # Words in a large share of all phrasings would make every shortlist huge; they still
        # count in the exact scores below, only not in choosing the shortlist.
        limit = int(common_share * len(phrasing_tokens))
        # Each posting carries what it adds to its phrasing's shortlist score: the word's idf,
        # less the phrasing's tie-break, so that choosing the shortlist is one addition each.
        tiebreak = self._tiebreak
        adds = {t: {pid: self._idf[t] - tiebreak[pid] for pid in p} for t, p in postings.items()}
        self._postings = {t: a for t, a in adds.items() if len(a) <= limit}
        # A question made only of such words ("what is ldn") still needs a shortlist.
        self._common_postings = {t: a for t, a in adds.items() if len(a) > limit}
        lexicon = normalizer.lexicon
        self._vocab = tuple(sorted(raw_vocab | lexicon.stopwords | set(lexicon.spelling)))
        self._vocab_set = frozenset(self._vocab)
        # Candidates for spelling correction, by first letter: people seldom mistype the first
        # letter, and allowing it turns real words into other ones ("cover" -> "over").
        by_initial: dict[str, list[str]] = {}
        for known in self._vocab:
            by_initial.setdefault(known[:1], []).append(known)
        self._vocab_by_initial = {k: tuple(v) for k, v in by_initial.items()}
        # Topic words (from topics and keywords) are worth a second edit in a long word:
        # "titrait" is "titrate", and no everyday word is that close to it.
        topic_words: dict[str, set[str]] = {}
        for entry in self.entries:
            for text in (entry.topic, *entry.keywords):
                for word in normalizer.content(normalizer.text(text)):
                    if len(word) >= 7 and word.isalpha():
                        topic_words.setdefault(word[:1], set()).add(word)
        self._topic_by_initial = {k: tuple(sorted(v)) for k, v in topic_words.items()}
        self._correct = lru_cache(maxsize=8192)(self._correct_uncached)
        self._common_sums = lru_cache(maxsize=256)(self._common_sums_uncached)

    # -- question side ---------------------------------------------------------------------

    def _correct_uncached(self, word: str) -> str:
        """The nearest known word with the same first letter, within one edit (two for words of
        eight letters or more), else the word itself."""
        if word in self._vocab_set or len(word) < 4 or not word.isalpha():
            return word
        max_edits = 1 if len(word) < 8 else 2
        candidates = self._vocab_by_initial.get(word[0], ())
        best = process.extractOne(word, candidates, scorer=OSA.distance, score_cutoff=max_edits)
        if best is None and max_edits == 1 and len(word) >= 7:
            topic = self._topic_by_initial.get(word[0], ())
            best = process.extractOne(word, topic, scorer=OSA.distance, score_cutoff=2)
        if best is None:
            return word
        lexicon = self.normalizer.lexicon
        fixed = lexicon.spelling.get(best[0], best[0])
        if len(word) < 5 and all(w in lexicon.stopwords for w in fixed.split()):
            # A short unknown word is more often a real word the bot does not know ("cold")
            # than a mistyped stopword ("could"); dropping it would hide that it is unknown.
            return word
        return fixed

    def tokens(self, normalised: str) -> list[str]:
        """The question's content words, spelling-corrected and stemmed, without repeats."""
        stop = self.normalizer.lexicon.stopwords
        seen: dict[str, None] = {}
        for word in normalised.split():
            if word in stop:
                continue
            for fixed in self._correct(word).split():
                if fixed not in stop:
                    seen.setdefault(stem(fixed), None)
        return list(seen)

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._idf_unknown)

    def _common_sums_uncached(self, common: tuple[str, ...]) -> dict[int, float]:
        """What these common words add to each phrasing that has one of them, added in the
        words' order (the same few words come in question after question)."""
        sums: dict[int, float] = {}
        get = sums.get
        for token in common:
            for pid, add in self._common_postings[token].items():
                sums[pid] = get(pid, 0.0) + add
        return sums

    def _with_common(
        self, accumulated: dict[int, float], common: tuple[str, ...]
    ) -> dict[int, float]:
        """`accumulated` plus the common words' postings: the same sums, in the same order, as
        adding each posting in turn, without a step per posting."""
        sums = self._common_sums(common)
        merged = dict(accumulated)
        merged.update(sums)
        postings = self._common_postings
        for pid, score in accumulated.items():
            if pid in sums:
                for token in common:
                    add = postings[token].get(pid)
                    if add is not None:
                        score = score + add
                merged[pid] = score
        return merged

    def knows(self, token: str) -> bool:
        """Whether a token (as :meth:`tokens` gives it) is a word of some entry."""
        return token in self._idf

    # -- scoring ---------------------------------------------------------------------------

    def rank(self, normalised: str, limit: int = 5, *, context: str = "") -> list[Scored]:
        """Entries best first, one score each (the best of its phrasings).

        `context` is the rest of a longer message (the story before or after the question
        itself): a context word that an entry does not explain lowers that entry's coverage
        less than a word of the question does, so that "My husband has cancer ..." is not
        drowned by "husband"; one that a phrasing has counts a little less than a question
        word would, so that a story word alone ("last spring") does not carry a phrasing.
        """
        focus = self.tokens(normalised)
        extra = [t for t in self.tokens(context) if t not in focus] if context else []
        tokens = focus + extra
        if not tokens:
            return []
        weights = {t: self.idf(t) for t in tokens}
        discounted = {t: weights[t] * self.weights.context for t in extra}
        found = {t: weights[t] * self.weights.context_overlap for t in extra}

        # Words tie across many phrasings ("dose"): a tiny penalty for a long phrasing puts the
        # shortest ones, the closest to so short a question, first (rather than the entries
        # that come first in the file).
        accumulated: dict[int, float] = {}
        get = accumulated.get
        for token in weights:
            postings = self._postings.get(token)
            if postings is None:
                continue
            if not accumulated:
                accumulated.update(postings)
                continue
            for pid, add in postings.items():
                accumulated[pid] = get(pid, 0.0) + add
        if len(accumulated) < self.shortlist:
            common = tuple(t for t in weights if t in self._common_postings)
            if common:
                accumulated = self._with_common(accumulated, common)
        if not accumulated:
            return []
        # The same as heapq.nlargest (documented as equivalent), and three times faster here.
        shortlist = sorted(accumulated, key=accumulated.__getitem__, reverse=True)[: self.shortlist]

        query_text = " ".join(tokens)
        surface_text = normalised if focus else context
        fuzzy = process.extract(
            query_text,
            [self._phrasing_text[pid] for pid in shortlist],
            scorer=fuzz.token_set_ratio,
            limit=None,
        )
        fuzzy_by_pos = {pos: score / 100 for _, score, pos in fuzzy}
        surface = process.extract(
            surface_text,
            [self._phrasing_surface[pid] for pid in shortlist],
            scorer=fuzz.ratio,
            limit=None,
        )
        surface_by_pos = {pos: score / 100 for _, score, pos in surface}

        w = self.weights
        w_sum = w.overlap + w.coverage + w.fuzzy + w.surface
        w_overlap, w_coverage, w_fuzzy, w_surface = w.overlap, w.coverage, w.fuzzy, w.surface
        effective = [(t, found.get(t, wt)) for t, wt in weights.items()]
        phrasing_tokens, phrasing_weight = self._phrasing_tokens, self._phrasing_weight
        phrasing_entry, entry_vocab = self._phrasing_entry, self._entry_vocab
        scale = 100 / w_sum
        coverage_cache: dict[int, float] = {}
        best: dict[int, tuple[float, int]] = {}
        for pos, pid in enumerate(shortlist):
            toks = phrasing_tokens[pid]
            overlap = sum([e for t, e in effective if t in toks])
            own = phrasing_weight[pid]
            phrasing_share = overlap / own if own else 0
            entry_index = phrasing_entry[pid]
            coverage = coverage_cache.get(entry_index)
            if coverage is None:
                vocab = entry_vocab[entry_index]
                explained = sum([wt for t, wt in weights.items() if t in vocab])
                unexplained = sum(
                    [discounted.get(t, wt) for t, wt in weights.items() if t not in vocab]
                )
                total = explained + unexplained
                coverage = explained / total if total else 0.0
                coverage_cache[entry_index] = coverage
            score = scale * (
                w_overlap * min(phrasing_share, 1.0)
                + w_coverage * coverage
                + w_fuzzy * fuzzy_by_pos[pos] * coverage
                + w_surface * surface_by_pos[pos] * coverage
            )
            if score > best.get(entry_index, (-1.0, 0))[0]:
                best[entry_index] = (score, pid)

        ranked = sorted(best.items(), key=lambda item: item[1][0], reverse=True)[:limit]
        return [
            Scored(
                self.entries[i],
                round(score, 2),
                self._phrasing_text[pid],
                on_topic=not self._entry_subject[i].isdisjoint(tokens),
                specific=not self._entry_specific[i].isdisjoint(tokens),
            )
            for i, (score, pid) in ranked
        ]
