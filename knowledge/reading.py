"""How the safety check reads a message, from the safety file's shared grammar: its clauses and
their time, negation, suppositions, questions asked of anyone, and mentions of use that is over
or someone else's. :mod:`knowledge.safety` decides which rule fires; this module only reads."""

from __future__ import annotations

import re

from knowledge.model import SafetyGrammar
from knowledge.normalize import joined_clauses

WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
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
POSSESSIVE = re.compile(r"\b(my|our)\b")
_PAST_VERB_FIRST = re.compile(
    r"((i|we|they|he|she)\s+)?(\w+ed|broke|had|took|was|were|went|got|came|fell|did|felt|gave|"
    r"made|hurt|spent|left|lost|ran|saw|told|kept|found)\b"
)
_DURATION_NOW = re.compile(r"\b(for|since)\s+(\w+\s+){1,3}now\b")


def alternatives(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for any of several (one that never matches for none)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!x)x")


def overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class Reading:
    """The grammar compiled once; pure and thread-safe."""

    def __init__(self, grammar: SafetyGrammar) -> None:
        self.grammar = grammar
        self.past = re.compile("|".join(f"(?:{p})" for p in grammar.distant_past))
        self.recent = re.compile("|".join(f"(?:{p})" for p in grammar.recent))
        self.resumed = re.compile("|".join(f"(?:{p})" for p in grammar.resumed))
        self.cues = re.compile(grammar.cues)
        self.first_person = re.compile(grammar.first_person)
        self.general_before = re.compile(grammar.general_before)
        self.general_after = re.compile(grammar.general_after)
        self.general_question = re.compile(grammar.general_question)
        self.over = re.compile(grammar.over)
        self.hypothetical = re.compile(grammar.hypothetical)
        # A supposition with the words it governs ("if one day I need an operation").
        self.supposed = re.compile(f"(?:{grammar.hypothetical})(?:\\s+[\\w']+){{0,3}}")
        self.others = re.compile(grammar.others)
        self.carer = re.compile(grammar.carer)
        self.own_use = re.compile(grammar.own_use)
        self.work = re.compile(grammar.work)
        self.reported = re.compile(grammar.reported)
        self.cancel = alternatives((*grammar.lookalike_cancel, grammar.own_use))
        self.time = alternatives(grammar.lookalike_cancel)
        self.idioms = alternatives(grammar.idioms)
        self.negated_states = alternatives(grammar.negated_states)
        self.general_any = re.compile(grammar.general_any)
        self.use_question = re.compile(grammar.use_question)
        self.denied = re.compile(grammar.denied)
        self.curious = re.compile(grammar.curious)
        self.generic = re.compile(grammar.generic_subject)
        self.asked_about = re.compile(grammar.asked_about)
        self.supposition = re.compile(grammar.supposition)
        self.owned = re.compile(grammar.owned)
        self.procedure_done = re.compile(grammar.procedure_done)
        self.pain_relief = re.compile(grammar.pain_relief)
        self.refused = re.compile(grammar.refused)
        self.about_ldn = re.compile(grammar.about_ldn)

    def supposing(self, clause: str) -> bool:
        """A supposition ("if a dog ate one", "what if I needed surgery") or a question asked
        of anyone ("what happens if someone on LDN needs an operation?")."""
        return self.supposition.search(clause) is not None or self.of_anyone(clause)

    def of_anyone(self, clause: str) -> bool:
        """A question about people in general, whoever writes ("in general, how long do people
        stop LDN before an operation? Nothing planned, I just like to know"); a look-alike
        when nothing recent or coming, and no use of one's own, is said anywhere (``quiet``)."""
        return (
            self.general_any.search(clause) is not None
            and self.first_person.search(clause) is None
            and self.generic.search(clause) is not None
        )

    def lookalike_use(self, folded: str, clause: str) -> bool:
        """A live mention of use that is over ("I was on tramadol for years but stopped"), only
        supposed ("what if I needed morphine?") or another person's who is not on LDN ("my
        friend takes oxycodone"); never with one's own use, and for one's own past or supposed
        use never with recent, coming or resumed use in the message."""
        # Someone else's use, or one's work ("I'm a nurse and give morphine every shift"), at
        # any time ("my colleague went to A&E yesterday"), unless they are on LDN too.
        if self.work.search(folded) and not self.time.search(folded):
            return self.carer.search(folded) is None
        # One's own use elsewhere in the message ("... and I had a bit for my cough"); in the
        # drug's own clause it is the story of the use that is over or supposed.
        elsewhere = folded.replace(clause, " ")
        if self.own_use.search(elsewhere):
            return False
        # "what if someone takes kratom with LDN? because I do every day": supposed, then owned.
        if self.owned.search(folded):
            return False
        if self.others.search(clause) or self.others.search(folded):
            return self.carer.search(folded) is None
        # Offered and refused ("the GP offered me co-codamol today but I said no").
        if self.refused.search(folded):
            return True
        # "off it for six months now": how long it has been over, not a time of use.
        dated = _DURATION_NOW.sub(" ", clause)
        # The rest of the message without what it says of LDN itself ("starting LDN tonight").
        rest = " ".join(
            text for text, _ in joined_clauses(elsewhere) if not self.about_ldn.search(text)
        )
        if self.cancel.search(rest) or self.time.search(dated):
            return False
        # The clause with the drug must not say present use once its past or supposed phrases
        # are taken out ("I used to take codeine" is past; "I take codeine" is not).
        bare_clause = self.supposed.sub(" ", self.over.sub(" ", dated))
        if _PRESENT.search(bare_clause) or re.search(r"\b(i|we)\s+(take|use|need)\b", bare_clause):
            return False
        done = self.procedure_done.search(folded) and not self.pain_relief.search(folded)
        return bool(self.over.search(folded) or self.hypothetical.search(folded) or done)

    def timed_clauses(self, folded: str) -> list[tuple[str, bool, str]]:
        """Each clause, whether it speaks only of the distant past, and its lead: the clause
        before it when "and" joins them, so that "the difference between LDN and methadone"
        still reads as general. A clause with no time marker of its own takes the next one's
        when that only continues a list ("I had tramadol and codeine years ago", not "I'm on
        codeine and I had tramadol years ago") or is a short tail (", long back"), and the
        previous one's when it goes on in the past without a subject of its own."""
        joined = joined_clauses(folded)
        times: list[bool | None] = []
        for text, _ in joined:
            if self.recent.search(text):
                times.append(False)
            else:
                times.append(True if self.past.search(text) else None)
        for index in range(len(joined) - 2, -1, -1):
            following, text = times[index + 1], joined[index + 1][0]
            listed = joined[index][1] == "and" and not _OWN_SUBJECT.match(text)
            # ... or nothing but a time ("5 years ago now").
            tail = len(text.split()) <= 3 or len(self.past.sub(" ", text).split()) <= 1
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

    def general(self, clause: str, lead: str, start: int, end: int) -> bool:
        """A general-knowledge mention: "like morphine", "heroin addicts", "overdose reversal"."""
        return bool(
            self.general_before.search(lead + clause[:start])
            or self.general_after.search(clause[end:])
        )

    def negated(self, clause: str, start: int, end: int) -> bool:
        g = self.grammar
        if any(overlap((start, end), m.span()) for m in self.negated_states.finditer(clause)):
            return True
        before = WORD.findall(clause[:start])
        after = WORD.findall(clause[end:])
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
