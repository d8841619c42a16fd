"""The one place where a question becomes an answer, a clarification, a fallback or safety.

Order matters and is fixed: safety rules first (they win over everything: tier 1), then the
deliberate gaps, then matching. When no rule matched but the learned safety signal says the
message is likely a crisis (tier 2), the ordinary reply carries a check-in of that kind, which
the bot and the console show first. Abstaining is a first-class result: for a patient a wrong
confident answer is worse than "I don't know". So matching answers only when the best entry is
clearly ahead, shares a word of its topic or keywords with the question (not only everyday
words of its phrasings), and, for a one-word question, is the only entry whose topic that word
names; otherwise it asks back among the close ones. A question that names neither the medicine
nor this service (no anchor word, see lexicon.yaml) and has a word no entry knows is about that
word ("what are the side effects of caffeine", "do cats dream"): it is never answered outright.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from knowledge.clinic import ClinicInfo
from knowledge.embedding import Embedding, Vector, packaged_embedding
from knowledge.loader import KnowledgeBase
from knowledge.matcher import Matcher, Scored, Weights
from knowledge.model import Entry, Reply, SafetyRule, Status, Suggestion
from knowledge.normalize import clauses, fold, has_invisible, split_question
from knowledge.reranker import ABSTAIN, Policy, Reading, Reranker
from knowledge.safety import GapChecker, SafetyChecker
from knowledge.signal import SafetySignal

MAX_QUESTION = 1000  # longer text is cut before matching (never before the safety checks)
MAX_SAFETY_TEXT = 20_000  # far beyond Telegram's 4,096 characters per message

FALLBACK = (
    "I'm sorry, I don't have an answer to that. I can only answer questions about low dose "
    "naltrexone that the clinic's information covers, and I won't guess about your health. "
    "Please ask {clinic} about it. If you feel very unwell or unsafe right now, call "
    "{emergency}."
)
EMPTY = (
    "Please type a question about low dose naltrexone (LDN), for example "
    '"What are the side effects?" or "When should I take it?".'
)
CLARIFY = "I'm not sure I understood. Did you mean one of these?"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision points on the 0-100 match score, tuned on the tuning half of the evaluation."""

    answer: float = 50.5  # at least this ...
    margin: float = 2.0  # ... and this far ahead of the runner-up to answer outright
    clarify: float = 45.0  # below this, fall back
    window: float = 15.0  # suggest entries within this distance of the best one
    max_suggestions: int = 3
    # A one-word question ("dose") fits several entries more often than not: answer it only
    # when the best entry is this far ahead, else offer the close ones.
    short_margin: float = 10.0


@cache
def packaged_signal() -> SafetySignal:
    """The committed safety signal, loaded once per process."""
    return SafetySignal.load()


@cache
def packaged_reranker() -> Reranker:
    """The committed reranker, loaded once per process."""
    return Reranker.load()


class Engine:
    """Answers patients' questions from a loaded knowledge base; pure and thread-safe."""

    def __init__(
        self,
        kb: KnowledgeBase,
        clinic: ClinicInfo | None = None,
        *,
        thresholds: Thresholds | None = None,
        weights: Weights | None = None,
        signal: SafetySignal | None = None,
        reranker: Reranker | None = None,
        rerank: bool = True,
        embedding: Embedding | None = None,
    ) -> None:
        self.kb = kb
        self.clinic = clinic or ClinicInfo()
        self.thresholds = thresholds or Thresholds()
        self._fill = self.clinic.placeholders()
        self._normalizer = kb.lexicon.compile()
        self.matcher = Matcher(kb.entries, self._normalizer, weights=weights)
        self._safety = SafetyChecker(kb.safety_rules, kb.safety_grammar, dict(kb.fuzzy_names))
        self._gaps = GapChecker(kb.gaps)
        self.signal = signal or packaged_signal()
        self._entries = {e.id: e for e in kb.entries}
        self._rules = {r.id: r for r in kb.safety_rules}
        # `reranker`: the committed one unless given; `rerank=False`: the matcher alone. The
        # reranker was trained for one set of entries: with any other (an edited or a test
        # knowledge base) its view of them would be wrong, so the matcher decides alone.
        if rerank and reranker is None:
            reranker = packaged_reranker()
        if not rerank or (reranker is not None and reranker.entry_ids != set(self._entries)):
            reranker = None
        self.reranker = reranker
        # The question's sentence embedding, read by the reranker's second model.
        if reranker is not None and reranker.dense is not None and embedding is None:
            embedding = packaged_embedding()
        self.embedding = embedding if reranker is not None else None

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self.kb.entries

    def entry(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def normalise(self, question: str) -> str:
        """The question as the matcher sees it (also what the store keeps for the clinic)."""
        return self._normalizer.text(question[:MAX_QUESTION])

    def ask(self, question: str) -> Reply:
        """Decide the one reply for a question."""
        # Safety and gaps read the whole message: a crisis can come at the end of a long one.
        raw = question[:MAX_SAFETY_TEXT]
        folded = fold(raw)
        safety = self._safety.check(folded)
        if safety.rule is None and has_invisible(raw):
            spaced = self._safety.check(fold(raw, invisible=" "))
            if spaced.rule is not None:
                safety = spaced
        rule = safety.rule
        if rule is not None:
            return self._safety_reply(question, rule)
        reply = self._ordinary(question, folded, safety.set_aside)
        answered = reply.status is Status.ANSWER and not reply.tie_break
        # A rule's terms, but negated, in the distant past or in general: a check-in of that
        # kind with the ordinary answer, not the full safety answer; the rule knows the kind
        # better than the signal. Not when the knowledge base answers outright ("is LDN an
        # opioid like morphine?"): that is an everyday question, its answer is the reply.
        # A first-person or third-party look-alike ("I was on tramadol but stopped", "my friend
        # takes oxycodone") gets the check-in even then: asking costs less than missing current use.
        if safety.near is not None and (not answered or safety.personal):
            kind: str | None = safety.near.id
        else:
            kind = self.signal.checkin(folded, answered=answered)
        return replace(reply, checkin=kind) if kind is not None else reply

    def rules_checkin(self, question: str) -> str | None:
        """The kind of the check-in the rules alone give (a look-alike of that kind), or None."""
        folded = fold(question[:MAX_SAFETY_TEXT])
        safety = self._safety.check(folded)
        if safety.rule is not None or safety.near is None:
            return None
        if safety.personal:
            return safety.near.id
        reply = self._ordinary(question, folded, safety.set_aside)
        answered = reply.status is Status.ANSWER and not reply.tie_break
        return None if answered else safety.near.id

    def ordinary(self, question: str) -> Reply:
        """The reply as if no safety rule had matched (for evaluating the learned signal)."""
        folded = fold(question[:MAX_SAFETY_TEXT])
        return self._ordinary(question, folded, self._safety.check(folded).set_aside)

    def _ordinary(self, question: str, folded: str, set_aside: tuple[str, ...]) -> Reply:
        """The reply when no safety rule matched: a gap, an answer, a clarification, a fallback."""
        gap = self._gaps.check(folded)
        if gap is not None:
            return Reply(
                question=question,
                status=Status.FALLBACK,
                answer=gap.message.format_map(self._fill),
                entry_id=gap.id,
                topic=gap.topic,
                sources=gap.sources,
            )

        # Folding is the costly part of normalising: do it once and pass folded text on.
        text = folded if len(question) <= MAX_QUESTION else fold(question[:MAX_QUESTION])
        normalised = self._normalizer.from_folded(text)
        # "1", "?", "ok": nothing to match on; a stray number must not pick random topics.
        words = self._normalizer.content(normalised)
        if not any(sum(ch.isalpha() for ch in w) >= 2 for w in words):
            return Reply(question=question, status=Status.FALLBACK, answer=EMPTY)
        if set_aside:
            # "I had tramadol years ago, is LDN addictive?": match what is asked, not the aside,
            # unless too little is left to match on its own.
            rest = " ".join(c for c in clauses(text) if c not in set_aside)
            rest_normalised = self._normalizer.from_folded(rest)
            if len(self._normalizer.content(rest_normalised)) >= 2:
                text, normalised = rest, rest_normalised
        # A long message often tells a story before it asks: match the question sentences with
        # the story as context, whose words the matched entry need not all explain. The
        # reranker (trained on whole messages) and the anchor check read the whole message: the
        # story often names the medicine or the symptom ("snappy since starting LDN ... could it
        # be the tablets?").
        asked, context = split_question(text)
        if context:
            asked_normalised = self._normalizer.from_folded(asked)
            if self._normalizer.content(asked_normalised):
                story = self._normalizer.from_folded(context)
                return self._decide(
                    question,
                    self.matcher.rank(asked_normalised, context=story),
                    short=False,
                    normalised=normalised,
                )
        return self._decide(
            question,
            self.matcher.rank(normalised),
            short=len(self.matcher.tokens(normalised)) <= 1,
            normalised=normalised,
        )

    def safety_reply(self, rule_id: str) -> Reply | None:
        """The full safety answer of one kind, as when a patient asks for help at a check-in."""
        rule = self._rules.get(rule_id)
        return self._safety_reply(rule.title, rule) if rule is not None else None

    def _safety_reply(self, question: str, rule: SafetyRule) -> Reply:
        return Reply(
            question=question,
            status=Status.SAFETY,
            answer=rule.template.format_map(self._fill),
            entry_id=rule.id,
            score=100.0,
            topic=rule.title,
            sources=rule.sources,
        )

    def answer_entry(self, entry_id: str) -> Reply | None:
        """The answer for a known entry, as when a patient taps a suggested topic."""
        entry = self._entries.get(entry_id)
        if entry is None:
            return None
        return self._answer(entry.questions[0], entry, 100.0)

    def _answer(self, question: str, entry: Entry, score: float) -> Reply:
        return Reply(
            question=question,
            status=Status.ANSWER,
            answer=entry.answer,
            entry_id=entry.id,
            score=score,
            topic=entry.topic,
            sources=entry.sources,
        )

    def _decide(
        self, question: str, ranked: list[Scored], *, short: bool, normalised: str = ""
    ) -> Reply:
        t = self.thresholds
        if ranked and self._about_something_else(normalised):
            ranked = [replace(s, on_topic=False) for s in ranked]
        best = ranked[0].score if ranked else 0.0
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        margin = t.short_margin if short else t.margin
        # A one-word question that is a topic word of the runner-up too ("dose": the starting
        # dose, the dose to take, raising it) is a choice for the patient, not for us.
        shared = short and len(ranked) > 1 and ranked[1].specific and runner_up >= t.clarify
        answer = (
            ranked
            and not shared
            and best >= t.answer
            and best - runner_up >= margin
            # Sharing only everyday words with an entry ("can I take it on a plane" and "can I
            # take it in the morning") is not a reason to answer with it.
            and ranked[0].on_topic
        )
        chosen = ranked[0] if answer else None
        # The reranker (trained on other people's wording of each entry, and on questions the
        # knowledge base does not cover) may pick among entries that match well when none is
        # clearly ahead, or doubt a weak answer; when confident, it decides alone (an entry,
        # or "not covered"); see reranker.Policy.
        reranker = self.reranker
        # A matcher's answer strong enough that the reading can neither overrule it (`keep`)
        # nor doubt it (`weak`) stands without one: most answers, so the common case skips
        # the embedding and both models.
        settled = (
            reranker is not None
            and chosen is not None
            and chosen.score >= max(reranker.policy.keep, reranker.policy.weak)
        )
        if reranker is not None and not shared and normalised and not settled:
            policy = reranker.policy
            # The embedding reads the question as asked, asides included: it was trained so.
            vector = self._vector(question)
            reading = reranker.read(self.matcher.tokens(normalised), normalised.split(), vector)
            top = reading.top
            support = next((s.score for s in ranked if s.entry.id == top), 0.0)
            strong = chosen is not None and chosen.score >= policy.keep
            confident = not strong and reading.p(top) >= policy.decide
            if confident and (top == ABSTAIN or (ranked and not ranked[0].on_topic)):
                chosen, answer = None, False
            elif confident and support >= policy.support:
                answer = answer and chosen is not None and chosen.entry.id == top
                reply = self._answer(question, self._entries[top], support)
                return reply if answer else replace(reply, tie_break=True)
            elif ranked:
                chosen = self._rerank(reading, ranked, chosen, policy)
        if chosen is not None:
            reply = self._answer(question, chosen.entry, chosen.score)
            return reply if answer else replace(reply, tie_break=True)
        if ranked and best >= t.clarify:
            if shared:
                close = [s for s in ranked if s.specific and s.score >= t.clarify]
            else:
                close = [s for s in ranked if s.score >= max(t.clarify, best - t.window)]
            suggestions = tuple(
                Suggestion(s.entry.id, s.entry.questions[0]) for s in close[: t.max_suggestions]
            )
            return Reply(
                question=question,
                status=Status.CLARIFY,
                answer=CLARIFY,
                score=best,
                suggestions=suggestions,
            )
        return Reply(
            question=question,
            status=Status.FALLBACK,
            answer=FALLBACK.format_map(self._fill),
            score=best,
        )

    def _about_something_else(self, normalised: str) -> bool:
        """No anchor word ("ldn", "it", "clinic") and a word no entry knows: the question is
        about that word, whatever everyday or topic words it shares with an entry."""
        anchors = self.kb.lexicon.anchors
        if not normalised or not anchors.isdisjoint(normalised.split()):
            return False
        return not all(self.matcher.knows(t) for t in self.matcher.tokens(normalised))

    def _vector(self, question: str) -> Vector | None:
        return self.embedding(question[:MAX_QUESTION]) if self.embedding is not None else None

    def _rerank(
        self, reading: Reading, ranked: list[Scored], chosen: Scored | None, policy: Policy
    ) -> Scored | None:
        """The entry to answer with once the reranker has read the question, or None."""
        if chosen is not None and chosen.score >= policy.weak:
            return chosen
        good = [s for s in ranked if s.score >= self.thresholds.answer and s.on_topic]
        if not good or good[0] is not ranked[0]:
            return chosen  # nothing for the reranker to choose among
        if chosen is not None:
            return None if reading.p(ABSTAIN) >= policy.doubt else chosen
        by_p = sorted(good, key=lambda s: reading.p(s.entry.id), reverse=True)
        first = reading.p(by_p[0].entry.id)
        second = reading.p(by_p[1].entry.id) if len(by_p) > 1 else 0.0
        return by_p[0] if first >= policy.floor and first >= policy.ratio * second else None
