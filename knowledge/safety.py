"""Safety rules: deterministic pattern checks that run before matching (the deliberate gaps are
in :mod:`knowledge.gaps`, re-exported here where the engine has always found them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA

from knowledge.gaps import GapChecker
from knowledge.literals import LiteralIndex, necessary_literals
from knowledge.model import SafetyGrammar, SafetyRule
from knowledge.reading import POSSESSIVE, WORD, Reading, overlap

__all__ = ["GapChecker", "SafetyChecker", "SafetyResult"]


@dataclass(frozen=True, slots=True)
class SafetyResult:
    """The rule that fired, or None with the clauses that only mention safety terms in a negated,
    distant-past or general way; those are set aside before matching the rest of the question.
    ``near``: the first rule mentioned only in such a way, which earns a check-in of its kind
    (tier 2) rather than the full safety answer: a look-alike is not a crisis, but asking
    "are you taking opioids?" costs less than missing one."""

    rule: SafetyRule | None
    set_aside: tuple[str, ...]
    near: SafetyRule | None = None
    # The near mention is about someone's own use (past, supposed or another person's), not
    # general knowledge: the check-in comes even when the knowledge base answers outright.
    personal: bool = False


class _CompiledRule:
    def __init__(self, rule: SafetyRule, fuzzy_names: tuple[str, ...]) -> None:
        self.rule = rule
        self.terms = [re.compile(t) for t in rule.terms]
        self.hints = [re.compile(h) for h in rule.hints]
        self.cued = [re.compile(t) for t in rule.context_terms]
        self.fuzzy_names = fuzzy_names


Terms = list[re.Pattern[str]]


class SafetyChecker:
    """Finds the first safety rule (in file order) that a question triggers."""

    def __init__(
        self,
        rules: tuple[SafetyRule, ...],
        grammar: SafetyGrammar,
        fuzzy_names: dict[str, tuple[str, ...]],
    ) -> None:
        self._rules = [_CompiledRule(r, fuzzy_names.get(r.id, ())) for r in rules]
        # Nearly every question matches no term: a substring test for each term's necessary
        # literals (see knowledge.literals) rules most terms out before any is tried.
        self._literals = LiteralIndex(
            {
                (rule_index, term_index): necessary_literals(term)
                for rule_index, compiled in enumerate(self._rules)
                for term_index, term in enumerate(compiled.rule.terms)
            }
        )
        self._hint_literals = LiteralIndex(
            {
                (rule_index, hint_index): necessary_literals(hint)
                for rule_index, compiled in enumerate(self._rules)
                for hint_index, hint in enumerate(compiled.rule.hints)
            }
        )
        self._read = Reading(grammar)

    def check(self, folded: str) -> SafetyResult:
        """The rule this folded question triggers (or None), and the clauses to set aside."""
        r = self._read
        present = self._possible_terms(folded)
        candidates = [
            (c, terms)
            for c, terms in zip(self._rules, present, strict=True)
            if self._spans(c, terms, folded)
        ]
        if not candidates:
            hinted = self._hinted(folded)
            return SafetyResult(None, (), hinted, hinted is not None)
        parts = r.timed_clauses(folded)
        # "I had tramadol years ago but I'm back on it now": a resumption anywhere in the
        # message cancels every distant-past exemption in it.
        resumed = r.resumed.search(folded) is not None
        recent = resumed or r.recent.search(folded) is not None
        # Asked of no one in particular: not even of "my child" or "my mum".
        impersonal = r.first_person.search(folded) is None and not POSSESSIVE.search(folded)
        general = impersonal and r.general_question.search(folded) is not None
        # Broader, for a drug or an operation only: any question with no first person and no
        # time of its own ("is tramadol an opioid?", "why stop LDN before an operation?").
        asked = (
            impersonal
            and r.general_any.search(folded) is not None
            and r.cancel.search(folded) is None
        )
        # Nothing recent, coming or resumed anywhere, and the message says nothing is happening
        # ("not that I have", "nothing booked") or asks only out of curiosity ("just curious").
        # Never when the message owns the crisis ("what if you took ten? because I did").
        owned = r.owned.search(folded) is not None
        # A time word inside a denial ("nothing booked") marks no time of its own.
        unmarked = not resumed and not owned and r.time.search(r.denied.sub(" ", folded)) is None
        denied = unmarked and r.denied.search(folded) is not None
        curious = unmarked and r.curious.search(folded) is not None
        # Nothing recent or coming, and no use of one's own, anywhere in the message.
        quiet = r.cancel.search(folded) is None and not owned
        set_aside: list[str] = []
        near: SafetyRule | None = None
        personal = demoted = long_past = False
        for compiled, terms in candidates:
            past_exempt = compiled.rule.past_exempt
            # A deniable rule named only in suppositions or questions asked of anyone ("if a
            # dog ate one, would it hurt it?") in a message that denies it: a look-alike. A
            # mention that no clause holds alone ("sores in my mouth, sore eyes and a rash")
            # is judged on the whole message.
            naming = [(text, d) for text, d, _ in parts if self._spans(compiled, terms, text)]
            # A clause that itself denies the mention ("no surgery planned") supposes nothing
            # but says nothing is happening either: it does not hold the look-alike back.
            supposed = (
                (denied or curious)
                and compiled.rule.deniable
                and all(
                    r.supposing(text) or r.denied.search(text) is not None
                    for text in [t for t, _ in naming] or [folded]
                )
            )
            if not past_exempt:
                # Rules without a past exemption also read the message whole, so that "go to
                # sleep and not wake up" is not cut in two at "and"; when every clause that
                # names the crisis is long past and nothing is recent ("I self-harmed as a
                # teenager"), so is the whole (a check-in, not the full answer).
                long_ago = bool(naming) and all(d for _, d in naming) and not recent
                whole = [(folded, long_ago, "")]
            for index, (clause, distant, lead) in enumerate(
                parts if past_exempt else [*parts, *whole]
            ):
                verdict = self._clause_verdict(
                    compiled,
                    terms,
                    clause,
                    distant and not resumed,
                    lead,
                    general or (past_exempt and (asked or (quiet and r.of_anyone(clause)))),
                    quiet=quiet,
                )
                if (
                    verdict is True
                    and compiled.rule.deniable
                    and (supposed or (denied and r.denied.search(clause) is not None))
                ):
                    verdict = False
                    personal = personal or near is None
                if (
                    verdict is True
                    and compiled.rule.past_exempt
                    and not resumed
                    and r.lookalike_use(folded, clause)
                ):
                    verdict = False
                    personal = personal or near is None
                if verdict is None and asked and past_exempt and not general:
                    # Is the question's generality all that keeps this mention from tier 1?
                    alone = self._clause_verdict(
                        compiled, terms, clause, distant and not resumed, lead
                    )
                    demoted = demoted or alone is True
                read_whole = index == len(parts)
                if verdict is True and read_whole and self._judged(compiled, terms, folded, parts):
                    # Every mention lies inside one clause, whose verdict stands ("my uncle
                    # died of a heroin overdose, I'm careful": general, whoever speaks after).
                    verdict = None
                if verdict is True:
                    return SafetyResult(compiled.rule, ())
                if verdict is False and not read_whole:
                    set_aside.append(clause)
                # A crisis long past ("I self-harmed as a teenager") is still asked about.
                long_past = long_past or (verdict is False and distant and not past_exempt)
            # Mentioned, but only negated, in the distant past or in general.
            near = near or compiled.rule
        if long_past and near is not None and not near.past_exempt:
            personal = True
        if demoted and r.use_question.search(folded):
            # "is it ok to take tramadol with LDN?": asked in general, maybe about oneself.
            personal = True
        hinted = self._hinted(folded)
        if hinted is not None and (near is None or not personal):
            near, personal = hinted, True
        return SafetyResult(None, tuple(dict.fromkeys(set_aside)), near, personal)

    def _judged(
        self, compiled: _CompiledRule, terms: Terms, folded: str, parts: list[tuple[str, bool, str]]
    ) -> bool:
        """Every mention in the whole message lies inside one clause (already judged)."""
        spans = self._spans(compiled, terms, folded)
        return all(any(folded[a:b] in text for text, _, _ in parts) for a, b in spans)

    def _hinted(self, folded: str) -> SafetyRule | None:
        """The first rule one of whose hints the message holds, not negated: its check-in comes
        even with an outright answer, since a hint is how a crisis is often first told."""
        for rule_index, hint_index in sorted(self._hint_literals.present(folded)):
            compiled = self._rules[rule_index]
            for m in compiled.hints[hint_index].finditer(folded):
                if not self._read.negated(folded, *m.span()):
                    return compiled.rule
        return None

    def _possible_terms(self, folded: str) -> list[Terms]:
        """For each rule, the terms that can match somewhere in this text."""
        possible = self._literals.present(folded)
        per_rule: list[Terms] = [[] for _ in self._rules]
        for rule_index, term_index in sorted(possible):
            per_rule[rule_index].append(self._rules[rule_index].terms[term_index])
        return per_rule

    def _clause_verdict(
        self,
        compiled: _CompiledRule,
        terms: Terms,
        clause: str,
        distant: bool,
        lead: str,
        general: bool = False,
        *,
        quiet: bool = False,
    ) -> bool | None:
        """True: the clause triggers the rule. False: it mentions the rule's terms only in a
        negated, distant-past or general way. None: no mention at all."""
        rule = compiled.rule
        if distant:
            return False if self._spans(compiled, terms, clause) else None
        spans = self._spans(compiled, terms, clause)
        if not spans:
            return None
        if not rule.negatable:
            return True
        live = [span for span in spans if not self._read.negated(clause, *span)]
        if not live:
            return False  # only negated mentions: set the clause aside before matching
        if general:
            return None
        # Something read or watched about a drug ("I saw a news story about fentanyl") is
        # general even when told in the first person.
        if all(self._read.reported.search(lead + clause[:start]) for start, _ in live):
            return None
        # "is it even possible to overdose on LDN?", with nothing recent or one's own said.
        if quiet and all(self._read.asked_about.search(lead + clause[:start]) for start, _ in live):
            return None
        personal = self._read.first_person.search(clause) is not None
        if personal or not all(self._read.general(clause, lead, *span) for span in live):
            return True
        # A general-knowledge mention ("is LDN an opioid like morphine?") is the question
        # itself: neither a trigger nor an aside.
        return None

    def _spans(self, compiled: _CompiledRule, terms: Terms, clause: str) -> list[tuple[int, int]]:
        spans = [m.span() for t in terms for m in t.finditer(clause)]
        if compiled.cued and self._read.cues.search(clause):
            spans += [m.span() for t in compiled.cued for m in t.finditer(clause)]
        spans += self._fuzzy_spans(compiled.fuzzy_names, clause)
        if spans and self._read.idioms.search(clause):
            idioms = [m.span() for m in self._read.idioms.finditer(clause)]
            spans = [s for s in spans if not any(overlap(s, i) for i in idioms)]
        return spans

    @staticmethod
    def _fuzzy_spans(names: tuple[str, ...], clause: str) -> list[tuple[int, int]]:
        if not names:
            return []
        return [
            m.span()
            for m in WORD.finditer(clause)
            if len(m.group()) >= 6 and _near_a_name(m.group(), names)
        ]


@lru_cache(maxsize=16_384)
def _near_a_name(word: str, names: tuple[str, ...]) -> bool:
    """One edit from a name, or two where the word or the name is long, a swap of neighbours
    counting as one: catches "oxycodon", "fentynal" and "suboxen" but not "morning". Cached:
    most words come back in question after question."""
    for name in names:
        edits = 1 if max(len(word), len(name)) < 8 else 2
        if OSA.distance(word, name, score_cutoff=edits) <= edits:
            return True
    return False
