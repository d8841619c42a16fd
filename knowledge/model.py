"""Plain typed values that the engine takes and returns; no Telegram, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    SAFETY = "safety"


@dataclass(frozen=True, slots=True)
class Source:
    """A slide of the clinic's presentation or a checked published record."""

    id: str
    kind: str  # slide | study | review | label | web
    label: str
    slide: str | None = None
    authors: str | None = None
    year: int | None = None
    title: str | None = None
    journal: str | None = None
    volume_pages: str | None = None
    doi: str | None = None
    pmid: int | None = None
    url: str | None = None

    @property
    def link(self) -> str | None:
        """The best public link to the record: DOI first, then PubMed, then a given URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        return self.url


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    category: str
    topic: str
    questions: tuple[str, ...]
    answer: str
    sources: tuple[Source, ...]
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gap:
    """A predictable question the bot deliberately does not answer, with a tailored message."""

    id: str
    topic: str
    patterns: tuple[str, ...]
    unless: tuple[str, ...]
    message: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class SafetyRule:
    """An urgent situation that overrides every other answer."""

    id: str
    title: str
    terms: tuple[str, ...]  # regexes that trigger on their own
    context_terms: tuple[str, ...]  # regexes that trigger only with a personal-use cue nearby
    negatable: bool
    past_exempt: bool
    template: str
    sources: tuple[Source, ...]
    # Hints: wording that only points towards this kind ("I won't be around next month"):
    # never the full answer, always the check-in (tier 2).
    hints: tuple[str, ...] = ()
    # A mention that the message itself denies ("not that I have", "nothing booked") or asks
    # of anyone ("if a dog ate one, would it hurt it?") may be a look-alike (tier 2). Never for
    # self-harm: "I'm fine" is how thoughts of it are often hidden.
    deniable: bool = False


@dataclass(frozen=True, slots=True)
class SafetyGrammar:
    """The shared parts of the safety file: negation, time markers and personal-use cues."""

    negators: frozenset[str]
    negation_bridge: frozenset[str]
    negation_after: frozenset[str]
    distant_past: tuple[str, ...]
    recent: tuple[str, ...]
    resumed: tuple[str, ...]
    cues: str
    first_person: str = r"(?!x)x"
    general_before: str = r"(?!x)x"
    general_after: str = r"(?!x)x"
    # A question about how things are in general ("is it possible to overdose on LDN?", "what
    # happens if someone on LDN needs morphine?"): with no first person anywhere in the
    # message, every mention in it is general.
    general_question: str = r"(?!x)x"
    # A `past_exempt` rule's live mention is a look-alike too when the use is over, only
    # supposed or someone else's (not a patient on LDN), and nothing says recent or coming use.
    over: str = r"(?!x)x"
    hypothetical: str = r"(?!x)x"
    others: str = r"(?!x)x"
    carer: str = r"(?!x)x"
    lookalike_cancel: tuple[str, ...] = ()
    own_use: str = r"(?!x)x"
    work: str = r"(?!x)x"
    reported: str = r"(?!x)x"
    # Figures of speech that borrow a rule's words ("I overdosed on chocolate", "I could kill
    # myself laughing"): a term inside one is no mention at all.
    idioms: tuple[str, ...] = ()
    # A state said not to hold, the negator inside the term ("my lips aren't swollen").
    negated_states: tuple[str, ...] = ()
    # A question asked of no one in particular (no first person, nothing recent or coming):
    # a `past_exempt` rule's mentions in it are general, a check-in at most ...
    general_any: str = r"(?!x)x"
    # ... and one that asks about taking or combining may hide one's own use: the check-in
    # comes even when the knowledge base answers outright.
    use_question: str = r"(?!x)x"
    # The message says that nothing is happening or coming ("not that I have", "nothing
    # booked", "I never take his") ...
    denied: str = r"(?!x)x"
    curious: str = r"(?!x)x"
    # ... or asks of anyone ("people", "someone", "a dog"), not of the one writing.
    generic_subject: str = r"(?!x)x"
    # "is it even possible to overdose on LDN?": general when nothing recent or one's own is said.
    asked_about: str = r"(?!x)x"
    # "if my cat ever got hold of one": a supposition, for `deniable` rules.
    supposition: str = r"(?!x)x"
    # "... because I just did", "asking for me", "mine is", "they want to give me some": the
    # supposed or asked-about crisis is the writer's own, now. Never a look-alike then.
    owned: str = r"(?!x)x"
    # "had my colonoscopy in March, all fine": a procedure over and fine, when no opioid or
    # painkiller is named anywhere in the message.
    procedure_done: str = r"(?!x)x"
    pain_relief: str = r"(?!x)x"
    # "offered me co-codamol but I said no"; a clause about starting or taking LDN itself.
    refused: str = r"(?!x)x"
    about_ldn: str = r"(?!x)x"


@dataclass(frozen=True, slots=True)
class Suggestion:
    entry_id: str
    question: str


@dataclass(frozen=True, slots=True)
class Reply:
    """The engine's one result for one question."""

    question: str
    status: Status
    answer: str
    entry_id: str | None = None
    score: float = 0.0
    topic: str | None = None
    sources: tuple[Source, ...] = ()
    suggestions: tuple[Suggestion, ...] = field(default_factory=tuple)
    # Tier 2: no safety rule matched, but the learned signal says this may be a crisis of this
    # kind (a safety rule id): ask first ("Are you safe right now?"), then give the reply.
    checkin: str | None = None
    # An answer the matcher did not give outright (the reranker broke a near tie, or its
    # confident reading chose the entry): so a general question near a safety rule still
    # gets its check-in.
    tie_break: bool = False

    @property
    def tier(self) -> int:
        """1: a safety rule matched (status safety); 2: a check-in comes first; 0: neither."""
        if self.status is Status.SAFETY:
            return 1
        return 2 if self.checkin is not None else 0

    def as_json(self) -> dict[str, object]:
        """The `ldn-bot ask --json` object: exactly these keys."""
        return {
            "question": self.question,
            "status": self.status.value,
            "entry_id": self.entry_id,
            "score": round(self.score, 1),
            "answer": self.answer,
            "sources": [_source_json(s) for s in self.sources],
            "suggestions": [
                {"entry_id": s.entry_id, "question": s.question} for s in self.suggestions
            ],
            "tier": self.tier,
            "checkin": self.checkin,
        }


def _source_json(source: Source) -> dict[str, object]:
    out: dict[str, object] = {"id": source.id, "label": source.label, "kind": source.kind}
    if source.link:
        out["url"] = source.link
    return out
