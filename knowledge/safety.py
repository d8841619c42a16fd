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
from knowledge.normalize import joined_clauses

__all__ = ["GapChecker", "SafetyChecker", "SafetyResult"]

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# A clause that starts with a subject or a verb says something of its own, at its own time.
_OWN_SUBJECT = re.compile(
    r"(i|we|you|he|she|they|it|my|our|his|her|their|am|is|are|was|were|have|has|had|take|"
    r"takes|took|taking|taken|use|uses|used|using|started|start|stopped|stop|been|got|get|do|"
    r"does|did|still|now|currently|then\s+i)\b"
)
# ... but not a feeling ("I'm worried I'll forget to say") nor one's LDN ("I'm on LDN").
_PRESENT = re.compile(
    r"\b(am|is|are|take|takes|(?<!was\s)(?<!were\s)taking|use|uses|(?<!was\s)(?<!were\s)using|"
    r"currently|now)\b"
    r"(?!\s+(worried|scared|afraid|anxious|nervous|concerned|wondering|curious|unsure|fine|ok|"
    r"okay)\b)(?!\s+(on\s+|taking\s+)?(my\s+|the\s+)?(ldn|naltrexone|low\s+dose)\b)"
)
_POSSESSIVE = re.compile(r"\b(my|our)\b")
# First-person present use in the clause that names the drug ("I get morphine for my crises").
_OWN_USE = re.compile(r"\b(i|we)\s+(take|use|need|get|have|receive)\b")
_PAST_VERB_FIRST = re.compile(
    r"((i|we|they|he|she)\s+)?(\w+ed|broke|had|took|was|were|went|got|came|fell|did|felt|gave|made|hurt|spent|left|"
    r"lost|ran|saw|told|kept|found)\b"
)


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
        self.grammar = grammar
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
        self._past = re.compile("|".join(f"(?:{p})" for p in grammar.distant_past))
        self._recent = re.compile("|".join(f"(?:{p})" for p in grammar.recent))
        self._resumed = re.compile("|".join(f"(?:{p})" for p in grammar.resumed))
        self._cues = re.compile(grammar.cues)
        self._first_person = re.compile(grammar.first_person)
        self._general_before = re.compile(grammar.general_before)
        self._general_after = re.compile(grammar.general_after)
        self._general_question = re.compile(grammar.general_question)
        self._over = re.compile(grammar.over)
        self._hypothetical = re.compile(grammar.hypothetical)
        # A supposition with the words it governs ("if one day I need an operation").
        self._supposed = re.compile(f"(?:{grammar.hypothetical})(?:\\s+[\\w']+){{0,3}}")
        self._others = re.compile(grammar.others)
        self._carer = re.compile(grammar.carer)
        self._own_use = re.compile(grammar.own_use)
        self._work = re.compile(grammar.work)
        self._reported = re.compile(grammar.reported)
        self._cancel = _alternatives((*grammar.lookalike_cancel, grammar.own_use))
        self._time = _alternatives(grammar.lookalike_cancel)
        self._idioms = _alternatives(grammar.idioms)
        self._negated_states = _alternatives(grammar.negated_states)
        self._general_any = re.compile(grammar.general_any)
        self._use_question = re.compile(grammar.use_question)
        self._denied = re.compile(grammar.denied)
        self._curious = re.compile(grammar.curious)
        self._generic = re.compile(grammar.generic_subject)
        self._asked_about = re.compile(grammar.asked_about)
        self._supposition = re.compile(grammar.supposition)
        self._owned = re.compile(grammar.owned)

    def check(self, folded: str) -> SafetyResult:
        """The rule this folded question triggers (or None), and the clauses to set aside."""
        present = self._possible_terms(folded)
        candidates = [
            (c, terms)
            for c, terms in zip(self._rules, present, strict=True)
            if self._spans(c, terms, folded)
        ]
        if not candidates:
            hinted = self._hinted(folded)
            return SafetyResult(None, (), hinted, hinted is not None)
        parts = self._timed_clauses(folded)
        # "I had tramadol years ago but I'm back on it now": a resumption anywhere in the
        # message cancels every distant-past exemption in it.
        resumed = self._resumed.search(folded) is not None
        recent = resumed or self._recent.search(folded) is not None
        # Asked of no one in particular: not even of "my child" or "my mum".
        impersonal = self._first_person.search(folded) is None and not _POSSESSIVE.search(folded)
        general = impersonal and self._general_question.search(folded) is not None
        # Broader, for a drug or an operation only: any question with no first person and no
        # time of its own ("is tramadol an opioid?", "why stop LDN before an operation?").
        asked = (
            impersonal
            and self._general_any.search(folded) is not None
            and self._cancel.search(folded) is None
        )
        # Nothing recent, coming or resumed anywhere, and the message says nothing is happening
        # ("not that I have", "nothing booked") or asks only out of curiosity ("just curious").
        # Never when the message owns the crisis ("what if you took ten? because I did").
        owned = self._owned.search(folded) is not None
        # A time word inside a denial ("nothing booked") marks no time of its own.
        unmarked = (
            not resumed and not owned and self._time.search(self._denied.sub(" ", folded)) is None
        )
        denied = unmarked and self._denied.search(folded) is not None
        curious = unmarked and self._curious.search(folded) is not None
        # Nothing recent or coming, and no use of one's own, anywhere in the message.
        quiet = self._cancel.search(folded) is None and not owned
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
                    self._supposing(text) or self._denied.search(text) is not None
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
                    general or (past_exempt and (asked or (quiet and self._of_anyone(clause)))),
                    quiet=quiet,
                )
                if (
                    verdict is True
                    and compiled.rule.deniable
                    and (supposed or (denied and self._denied.search(clause) is not None))
                ):
                    verdict = False
                    personal = personal or near is None
                if (
                    verdict is True
                    and compiled.rule.past_exempt
                    and not resumed
                    and self._lookalike_use(folded, clause)
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
        if demoted and self._use_question.search(folded):
            # "is it ok to take tramadol with LDN?": asked in general, maybe about oneself.
            personal = True
        hinted = self._hinted(folded)
        if hinted is not None and (near is None or not personal):
            near, personal = hinted, True
        return SafetyResult(None, tuple(dict.fromkeys(set_aside)), near, personal)

    def _supposing(self, clause: str) -> bool:
        """A supposition ("if a dog ate one", "what if I needed surgery") or a question asked
        of anyone ("what happens if someone on LDN needs an operation?")."""
        return self._supposition.search(clause) is not None or self._of_anyone(clause)

    def _of_anyone(self, clause: str) -> bool:
        """A question about people in general, whoever writes ("in general, how long do people
        stop LDN before an operation? Nothing planned, I just like to know"); a look-alike
        when nothing recent or coming, and no use of one's own, is said anywhere (``quiet``)."""
        return (
            self._general_any.search(clause) is not None
            and self._first_person.search(clause) is None
            and self._generic.search(clause) is not None
        )

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
                if not self._negated(folded, *m.span()):
                    return compiled.rule
        return None

    def _lookalike_use(self, folded: str, clause: str) -> bool:
        """A live mention of use that is over ("I was on tramadol for years but stopped"), only
        supposed ("what if I needed morphine?") or another person's who is not on LDN ("my
        friend takes oxycodone"); never with one's own use, and for one's own past or supposed
        use never with recent, coming or resumed use in the message."""
        # Someone else's use, or one's work ("I'm a nurse and give morphine every shift"), at
        # any time ("my colleague went to A&E yesterday"), unless they are on LDN too.
        if self._work.search(folded) and not self._time.search(folded):
            return self._carer.search(folded) is None
        # One's own use elsewhere in the message ("... and I had a bit for my cough"); in the
        # drug's own clause it is the story of the use that is over or supposed.
        if self._own_use.search(folded.replace(clause, " ")):
            return False
        # "what if someone takes kratom with LDN? because I do every day": supposed, then owned.
        if self._owned.search(folded):
            return False
        if self._others.search(clause) or self._others.search(folded):
            return self._carer.search(folded) is None
        # "off it for six months now": how long it has been over, not a time of use.
        timed = self._time.search(_DURATION_NOW.sub(" ", clause))
        if self._cancel.search(folded.replace(clause, " ")) or timed:
            return False
        # The clause with the drug must not say present use once its past or supposed phrases
        # are taken out ("I used to take codeine" is past; "I take codeine" is not).
        bare_clause = self._supposed.sub(" ", self._over.sub(" ", _DURATION_NOW.sub(" ", clause)))
        if _PRESENT.search(bare_clause) or re.search(r"\b(i|we)\s+(take|use|need)\b", bare_clause):
            return False
        return bool(self._over.search(folded) or self._hypothetical.search(folded))

    def _timed_clauses(self, folded: str) -> list[tuple[str, bool, str]]:
        """Each clause, whether it speaks only of the distant past, and its lead: the clause
        before it when "and" joins them, so that "the difference between LDN and methadone"
        still reads as general. A clause with no time marker of its own takes the next one's
        when that only continues a list ("I had tramadol and codeine years ago", not "I'm on
        codeine and I had tramadol years ago") or is a short tail (", long back"), and the
        previous one's when it goes on in the past without a subject of its own."""
        joined = joined_clauses(folded)
        times: list[bool | None] = []
        for text, _ in joined:
            if self._recent.search(text):
                times.append(False)
            else:
                times.append(True if self._past.search(text) else None)
        for index in range(len(joined) - 2, -1, -1):
            following, text = times[index + 1], joined[index + 1][0]
            listed = joined[index][1] == "and" and not _OWN_SUBJECT.match(text)
            tail = len(text.split()) <= 3
            # ... but not a distant past onto a clause in the present ("I take codeine, years
            # ago"): that one keeps saying now.
            present = following is True and _PRESENT.search(joined[index][0]) is not None
            if times[index] is None and following is not None and (listed or tail) and not present:
                times[index] = following
        for index in range(1, len(joined)):
            # "I had a fall last winter and broke my wrist": the same subject, the same time.
            before, text = times[index - 1], joined[index][0]
            elided = joined[index - 1][1] == "and" and _PAST_VERB_FIRST.match(text)
            # "I had a car crash in 2012, lots of surgery, morphine for weeks": a short
            # fragment with no subject of its own goes on with the list.
            fragment = len(text.split()) <= 4 and not _OWN_SUBJECT.match(text)
            if times[index] is None and before is not None and (elided or fragment):
                times[index] = before
        leads = [""] + [f"{text} and " if join == "and" else "" for text, join in joined[:-1]]
        return [
            (text, bool(time), lead)
            for (text, _), time, lead in zip(joined, times, leads, strict=True)
        ]

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
        live = [span for span in spans if not self._negated(clause, *span)]
        if not live:
            return False  # only negated mentions: set the clause aside before matching
        if general:
            return None
        # Something read or watched about a drug ("I saw a news story about fentanyl") is
        # general even when told in the first person.
        if all(self._reported.search(lead + clause[:start]) for start, _ in live):
            return None
        # "is it even possible to overdose on LDN?", with nothing recent or one's own said.
        if quiet and all(self._asked_about.search(lead + clause[:start]) for start, _ in live):
            return None
        personal = self._first_person.search(clause) is not None
        if personal or not all(self._general(clause, lead, *span) for span in live):
            return True
        # A general-knowledge mention ("is LDN an opioid like morphine?") is the question
        # itself: neither a trigger nor an aside.
        return None

    def _spans(self, compiled: _CompiledRule, terms: Terms, clause: str) -> list[tuple[int, int]]:
        spans = [m.span() for t in terms for m in t.finditer(clause)]
        if compiled.cued and self._cues.search(clause):
            spans += [m.span() for t in compiled.cued for m in t.finditer(clause)]
        spans += self._fuzzy_spans(compiled.fuzzy_names, clause)
        if spans and self._idioms.search(clause):
            idioms = [m.span() for m in self._idioms.finditer(clause)]
            spans = [s for s in spans if not any(_overlap(s, i) for i in idioms)]
        return spans

    def _general(self, clause: str, lead: str, start: int, end: int) -> bool:
        """A general-knowledge mention: "like morphine", "heroin addicts", "overdose reversal"."""
        return bool(
            self._general_before.search(lead + clause[:start])
            or self._general_after.search(clause[end:])
        )

    @staticmethod
    def _fuzzy_spans(names: tuple[str, ...], clause: str) -> list[tuple[int, int]]:
        if not names:
            return []
        return [
            m.span()
            for m in _WORD.finditer(clause)
            if len(m.group()) >= 6 and _near_a_name(m.group(), names)
        ]

    def _negated(self, clause: str, start: int, end: int) -> bool:
        g = self.grammar
        if any(_overlap((start, end), m.span()) for m in self._negated_states.finditer(clause)):
            return True
        before = _WORD.findall(clause[:start])
        after = _WORD.findall(clause[end:])
        if after and after[0] in g.negation_after:
            return True
        # Walk back over bridge words ("not on any ..."); stop at the first word that is neither,
        # but for one word just before "or" ("no surgery or dental work planned").
        window = before[-6:]
        skipped = False
        for index in range(len(window) - 1, -1, -1):
            word = window[index]
            if word in g.negators or word.endswith("n't"):
                return True
            if word not in g.negation_bridge:
                following = window[index + 1] if index + 1 < len(window) else ""
                if skipped or following not in ("or", "nor"):
                    return False
                skipped = True
        return False


_DURATION_NOW = re.compile(r"\b(for|since)\s+(\w+\s+){1,3}now\b")


def _alternatives(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for any of several (one that never matches for none)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!x)x")


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


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
