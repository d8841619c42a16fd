"""Take out of a question what could identify a person, before it is kept for the clinic.

A question the bot could not answer is kept (normalised, counted per day) so that the clinic can
add answers; it must not hold the name, phone number, e-mail, date of birth, address or record
number of whoever asked. :func:`scrub` replaces each with a placeholder (``[name]``,
``[phone]``, ``[email]``, ``[date]``, ``[postcode]``, ``[address]``, ``[number]``, ``[link]``);
:func:`for_record` scrubs, normalises the words around the placeholders and keeps those intact.

What must survive is as important: doses ("4.5 mg", "50000 iu"), times ("10pm", "22:30"),
durations ("for 2 weeks"), ages ("I'm 45"), ranges ("1.5-4.5") and years on their own
("since 2019") are not identifying, and the clinic needs them to see what patients ask.
Ambiguous words are read in context: "May" and "March" are months only next to a day number
with an ordinal or a year; "call me" introduces a name but "call me back" does not.

Plain regular expressions, no model: predictable, cheap, and the tests list what they cover.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

NAME: Final = "[name]"
PHONE: Final = "[phone]"
EMAIL: Final = "[email]"
DATE: Final = "[date]"
POSTCODE: Final = "[postcode]"
ADDRESS: Final = "[address]"
NUMBER: Final = "[number]"
LINK: Final = "[link]"
PLACEHOLDERS: Final = (NAME, PHONE, EMAIL, DATE, POSTCODE, ADDRESS, NUMBER, LINK)

MAX_KEPT: Final = 1000  # characters of a kept question (the matcher reads no more either)

_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")")
_I = re.IGNORECASE

# -- building blocks -----------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What may follow a number that is a quantity, not an identifier ("50000 iu", "12 weeks").
_UNIT = (
    r"(?:mg|mcg|µg|μg|ug|ng|g|gr|grams?|kg|kilos?|ml|l|litres?|liters?|iu|ius|units?|u|"
    r"tabs?|tablets?|pills?|caps?|capsules?|drops?|doses?|sachets?|steps|cal|calories|kcal|"
    r"mmol|nmol|pmol|%|percent|secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|nights?|"
    r"weeks?|wks?|months?|years?|yrs?|times|x|miles?|km|m|cm|mm|ft|feet|foot|inch(?:es)?|"
    r"lbs?|pounds?|stone|bpm|mmhg|dollars?|euros?|rupees?|people|patients)"
)
_UNIT_AFTER = re.compile(rf"\s*{_UNIT}\b", _I)
_CURRENCY_BEFORE = re.compile(r"(?:[$£€¥₹]|\b(?:rs|usd|gbp|eur|aud|inr)\.?)\s*$", _I)

_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}(?:{_LETTER}|['’\-](?={_LETTER}))*"

_MONTH_CLEAR = (
    r"(?:january|february|april|june|july|august|september|october|november|december|"
    r"jan|feb|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_MONTH_AMBIGUOUS = r"(?:march|mar|may)\.?"  # also ordinary words
_ORDINAL = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])"
_YEAR = r"(?:1[89]\d\d|20\d\d|['’]\d\d)"

# Words that end a name (or show that what follows "call me" is no name at all).
_NOT_NAMES: Final = _words(
    """
    a about after again all also am an and any anyone are as asap at back be because been
    before being but by can cannot could did do does doing done for from get getting go going
    got had has have having he her here hers him his how i if im in into is it its ive just
    later let like ll may me might more most much my need needs no not now of off ok okay on
    once only or other our out over please re she should since so some soon speaking still
    such than thank thanks that the their them then there these they this those through to
    today tomorrow tonight too under until up us very was we were what when where which while
    who whom why will with would yes yesterday you your yours
    take taking took taken use using used start started starting stop stopped started tried
    try trying ask asking asked wonder wondering want wanted question questions help
    feel feeling felt think thought know knew say said tell told
    ldn naltrexone dose doses doctor dr nurse clinic patient pharmacist
    new normal fine sure sorry happy worried scared confused tired sick unwell pregnant
    on off anytime anything everything nothing something someone
    maybe crazy whenever sometime again first directly urgently quickly
    """
)

# Capitalised words that are not names after "this is" ("This is Normal?" is rare, "This is
# LDN" less so).
_CAPITALISED_NOT_NAMES: Final = _words(
    """
    I Im It Its My Me Our The A An This That What Why How When Where Who Is Are Normal Ok
    Okay Not So Very Really Just Still Also Too Day Week Month Year Night Morning Evening
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December Low Dose Naltrexone Medicine
    Drug Pain Fibromyalgia Help Urgent Important Serious Weird Strange Bad Good Great Fine
    Question Because About After Before Since New Day Dr Doctor Nurse
    Carer Mum Mom Dad Wife Husband Son Daughter Patient Pharmacist Newbie Everyone All
    """
)

# -- the rules, in order -------------------------------------------------------------------

_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", _I)
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_BRACKET_AT = r"\s*[(\[{<]\s*at\s*[)\]}>]\s*"
_BRACKET_DOT = r"\s*[(\[{<]\s*dot\s*[)\]}>]\s*"
# Local parts and domains of at most four dotted pieces: bounded, so that a long run of
# "x dot x dot ..." costs linear time, not quadratic.
_EMAIL_BRACKETED = re.compile(
    rf"(?<![\w+%-])[\w+%-]+(?:(?:\.|{_BRACKET_DOT}|\s+dot\s+)[\w+%-]+){{0,3}}{_BRACKET_AT}"
    rf"[\w-]+(?:(?:\.|{_BRACKET_DOT}|\s+dot\s+)[\w-]+){{1,4}}",
    _I,
)
_EMAIL_SPOKEN = re.compile(
    r"(?<![\w+%-])[\w+%-]+(?:(?:\.|\s+dot\s+)[\w+%-]+){0,3}\s+at\s+[\w-]+(?:\.[\w-]+){0,3}"
    r"(?:\s+dot\s+[\w-]+){1,4}(?:\.[\w-]+){0,3}\b",
    _I,
)
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")

_DATE_ISO = re.compile(
    r"(?<![\d.])(?:1[89]|20)\d\d([-/.])(?:0?[1-9]|1[0-2])\1(?:[12]\d|3[01]|0?[1-9])(?!\d)"
)
_DATE_NUMERIC = re.compile(
    rf"(?<![\w.])(\d{{1,2}})([/.\-])(\d{{1,2}})\2(\d{{2}}|\d{{4}})"
    rf"(?![\w]|[./\-]\d|\s*{_UNIT}\b)",
    _I,
)
_DATE_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(?:(?:{_ORDINAL}|{_DAY})(?:\s+of)?\s+{_MONTH_CLEAR}"
    rf"|{_ORDINAL}(?:\s+of)?\s+{_MONTH_AMBIGUOUS}"
    rf"|{_DAY}\s+{_MONTH_AMBIGUOUS}(?=,?\s+{_YEAR}\b))"
    rf"(?:,?\s+{_YEAR})?\b",
    _I,
)
_DATE_MONTH_DAY = re.compile(
    rf"\b(?:{_MONTH_CLEAR}\s+(?:the\s+)?(?:{_ORDINAL}|{_DAY})"
    rf"|{_MONTH_AMBIGUOUS}\s+(?:the\s+)?{_ORDINAL}"
    rf"|{_MONTH_AMBIGUOUS}\s+{_DAY}(?=,?\s+{_YEAR}\b))"
    rf"(?:,?\s+{_YEAR})?(?!\s*{_UNIT}\b)\b",
    _I,
)
_DATE_MONTH_YEAR = re.compile(
    rf"\b(?:{_MONTH_CLEAR}|{_MONTH_AMBIGUOUS}),?\s+(?:1[89]\d\d|20\d\d)\b", _I
)
_BIRTH = re.compile(
    r"\b(?:born(?:\s+(?:in|on))?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday)"
    r"\s*(?:is|was|:|-|=)?\s*"
    r"(?:(?:\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?)|(?:1[89]\d\d|20\d\d)|['’]\d\d)(?![\w])",
    _I,
)

_UK_POSTCODE = re.compile(
    r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)\s?\d(?!(?:hr|wk|yr|th|st|nd|rd)\b)"
    r"[ABD-HJLNP-UW-Z]{2}\b",
    _I,
)
_CA_POSTCODE = re.compile(
    r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b", _I
)
_EIRCODE = re.compile(
    r"\b(?:[AC-FHKNPRTV-Y]\d{2}|D6W)\s?(?=[0-9AC-FHKNPRTV-Y]{0,3}\d)[0-9AC-FHKNPRTV-Y]{4}\b", _I
)
_NL_POSTCODE = re.compile(r"\b[1-9]\d{3}\s?(?!AM|PM|MG|ML|IU|UK|US|EU|OK|HR|SA|SD|SS)[A-Z]{2}\b")
_US_ZIP4 = re.compile(r"\b\d{5}-\d{4}\b")
_AU_POSTCODE = re.compile(r"\b(NSW|VIC|QLD|SA|WA|TAS|NT|ACT)\.?\s+\d{4}\b")
_POSTCODE_SAID = re.compile(
    r"\b(?:post\s?code|postal\s+code|zip(?:\s*code)?|pin\s*code|code\s+postal)"
    r"\s*(?:is|:|-|=)?\s*"
    r"((?=[A-Z\d]{2,3}[\d\s\-])(?:[A-Z]{0,3}\d[A-Z\d]*)(?:[\s\-][A-Z\d]*\d[A-Z\d]*)?)\b",
    _I,
)

_UK_NI = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", _I)
_ID_SAID = re.compile(
    r"\b(?:nhs|chi|mrn|urn|nhi|ihi|ppsn?|bsn|ssn|sin|aadhaa?r|medicare|medicaid|"
    r"hospital|patient|medical\s+record|record|insurance|insurer|policy|member(?:ship)?|"
    r"health\s*card|social\s+security|national\s+insurance|ni|passport|licen[cs]e|"
    r"reference|ref|account|claim|case|id)"
    r"\s*(?:number|no\.?|num|nr|#|id|code)?\s*(?:is|was|:|-|=)?\s*#?"
    r"((?=[A-Z\-/]*\d)[A-Z0-9][A-Z0-9\-/]*(?:\s+(?=[A-Z]*\d)[A-Z0-9][A-Z0-9\-/]*){0,3})",
    _I,
)
_ALNUM_ID = re.compile(
    r"(?<![\w\-/])(?=[A-Za-z\-/]{0,12}\d)(?=[\d\-/]{0,24}[A-Za-z])"
    r"[A-Za-z0-9]+(?:[-/][A-Za-z0-9]+){0,5}\b"
)

# A run of digits, maybe with a leading +, brackets, and spaces, dashes or dots between groups.
_NUMBER_RUN = re.compile(
    r"(?<![\w.+])(?:\+\s?)?(?:\(\s?\d{1,5}\s?\)\s?)?\d+"
    r"(?:(?:[ \t]?[-./][ \t]?|[ \t]|[ \t]?\(|\)[ \t]?)\d+\)?)*(?![\w])"
)

_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][\w'’\-]*\s+){1,3}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Close|Way|Court|Ct|Place|Pl|Crescent|"
    r"Cres|Terrace|Boulevard|Blvd|Gardens|Grove|Square|Parade|Highway|Hwy|Strasse|Straße)\b\.?"
)
_ADDRESS_SAID = re.compile(
    r"\b(?P<intro>my\s+(?:home\s+|postal\s+)?address\s*(?:is|:)\s*"
    r"|(?:address\s*:|i\s+live\s+at)\s*(?=\d))"
    r"[^.;!?\n]+?(?=\s+(?:and|but|i|my|can|could|is|should)\b|[.;!?\n]|$)",
    _I,
)

_CAP = r"[A-Z](?:['’][A-Z])?[a-z][\w'’\-]*"  # a capitalised name: "Jane", "O'Brien"
_NAME_TOKENS = rf"(?P<name>{_WORD}(?:\s+{_WORD}){{0,2}})"
_NAME_INTRO = re.compile(
    r"\b(?:my\s+(?:full\s+|first\s+|last\s+|real\s+|sur|given\s+|family\s+)?name"
    r"(?:\s+is|\s*['’]s|\s*:|\s*-|\s*=)"
    r"|(?:^|(?<=[\s,.;!]))name\s*[:=]"
    r"|i\s*['’]?\s*m\s+called|i\s+am\s+called|im\s+called|i\s+am\s+named|i\s*['’]?m\s+named"
    r"|call\s+me|i\s+go\s+by"
    r"|my\s+(?:husband|wife|partner|son|daughter|mum|mom|mother|father|dad|brother|sister|"
    r"child|kid|baby|friend|carer|caregiver|doctor|gp|consultant|nurse|pharmacist|"
    r"neurologist|rheumatologist|specialist)(?:\s*['’]s\s+name\s+is|\s+is\s+called|"
    r"\s+is\s+named|\s+named|\s+called))"
    rf"\s*{_NAME_TOKENS}",
    _I,
)
_TITLE_NAME = re.compile(
    r"\b(?:Dr|Doctor|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Sir|Dame|Nurse|Sister)\.?\s+"
    r"(?P<name>[A-Z][\w'’\-]*(?:\s+[A-Z][\w'’\-]*){0,2})"
)
_THIS_IS = re.compile(rf"\bthis\s+is\s+(?P<name>{_WORD}(?:\s+{_WORD})?)(?=\s+speaking\b)", _I)
_HERE = re.compile(rf"^\s*(?:(?:[Hh]i|[Hh]ello|[Hh]ey)[,!\s]+)?(?P<name>{_CAP})(?=\s+here\b)")
_THIS_IS_CAPITALISED = re.compile(
    r"\b(?:[Tt]his\s+is|[Hh]i,?\s+(?:[Ii]\s*['’]?\s*m|[Ii]\s+am|[Ii]m)|"
    r"[Hh]ello,?\s+(?:[Ii]\s*['’]?\s*m|[Ii]\s+am|[Ii]m)|[Hh]ey,?\s+(?:[Ii]\s*['’]?\s*m|[Ii]m))\s+"
    rf"(?P<name>{_CAP}(?:\s+{_CAP}){{0,2}})"
)
_SIGN_OFF = re.compile(
    r"(?:\b(?i:regards|thanks|thank\s+you|many\s+thanks|thx|cheers|sincerely|best\s+wishes|"
    r"yours(?:\s+truly|\s+sincerely)?)\s*[,!.\-]*"
    rf"|\s[-–—~])\s*(?P<name>{_CAP}(?:\s+[A-Z][\w'’\-]*){{0,2}})[\s.!]*$"
)


def _names(match: re.Match[str], *, capitalised_only: bool = False) -> str:
    """The intro kept, the name tokens that are really a name replaced."""
    start = match.start("name") - match.start()
    intro = match.group(0)[:start]
    tokens = match.group("name").split()
    kept: list[str] = []
    for index, token in enumerate(tokens):
        bare = re.sub(r"['’]s$", "", token)
        if bare.lower() in _NOT_NAMES or (capitalised_only and bare in _CAPITALISED_NOT_NAMES):
            break
        if index > 0 and token[:1].islower() and tokens[0][:1].isupper():
            break  # "Jane take" after "Jane": a capitalised name ends at a lower-case word
        kept.append(token)
    if not kept:
        return match.group(0)
    rest = " ".join(tokens[len(kept) :])
    return intro + NAME + (" " + rest if rest else "")


def _number(text: str, match: re.Match[str]) -> str:
    """A phone number, a long record number, or an ordinary quantity left as it was."""
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    if digits < 5:
        return found
    if _CURRENCY_BEFORE.search(text[max(0, match.start() - 8) : match.start()]) or (
        _UNIT_AFTER.match(text, match.end())
    ):
        return found
    separators = set(re.sub(r"[\d\s+()]", "", found))
    if "." in separators and (separators != {"."} or found.count(".") == 1):
        # Decimals ("10.30-11.30", "12.5"): only a long run on its own is a record number.
        parts = re.split(r"(\s*[-\s]\s*)", found)
        return "".join(p if p.strip(" -") == "" or _plain(p) else NUMBER for p in parts)
    groups = re.findall(r"\d+", found)
    if len(groups) == 2 and "-" in found and "(" not in found:
        first, second = groups
        local_us = (len(first), len(second)) == (3, 4)
        if len(first) <= 4 and len(second) <= 4 and int(first) < int(second) and not local_us:
            return found  # a range: "1000-2000"
    if digits >= 7:
        return PHONE if found[:1] in "+(0" else NUMBER
    if len(groups) == 1 or ([len(g) for g in groups] == [3, 3] and " " in found):
        return NUMBER  # a zip code, a record number, an Indian PIN ("560 001")
    return found


def _plain(part: str) -> bool:
    """A decimal or short number that identifies nobody."""
    whole = part.split(".", 1)[0]
    return sum(ch.isdigit() for ch in whole) < 5


def _alnum_id(match: re.Match[str]) -> str:
    token = match.group(0)
    if sum(ch.isdigit() for ch in token) < 5:
        return token
    if re.fullmatch(rf"\d+(?:\.\d+)?{_UNIT}", token, _I):
        return token  # "50000iu", "10000steps"
    return NUMBER


def _id_said(match: re.Match[str]) -> str:
    value = match.group(1)
    digits = sum(ch.isdigit() for ch in value)
    has_letter = any(ch.isalpha() for ch in value)
    if digits < 3 and not (has_letter and digits >= 1 and len(value) >= 4):
        return match.group(0)
    if re.fullmatch(rf"\d+(?:\.\d+)?\s*{_UNIT}", value, _I) or _UNIT_AFTER.match(
        match.string, match.end()
    ):
        return match.group(0)  # "in case 4.5mg is too much"
    return match.group(0)[: match.start(1) - match.start()] + NUMBER


def _postcode_said(match: re.Match[str]) -> str:
    if _UNIT_AFTER.match(match.string, match.end()) or re.fullmatch(
        rf"\d+(?:\.\d+)?{_UNIT}", match.group(1), _I
    ):
        return match.group(0)
    return match.group(0)[: match.start(1) - match.start()] + POSTCODE


def _numeric_date(match: re.Match[str]) -> str:
    first, second = int(match.group(1)), int(match.group(3))
    if 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12:
        return DATE
    return match.group(0)


def _au_postcode(match: re.Match[str]) -> str:
    return f"{match.group(1)} {POSTCODE}"


def scrub(text: str) -> str:
    """``text`` with names, contact details, dates, postcodes and record numbers replaced by
    placeholders; everything else as it was (spacing included)."""
    if not text:
        return text
    text = _LINK.sub(LINK, text)
    text = _EMAIL.sub(EMAIL, text)
    text = _EMAIL_BRACKETED.sub(EMAIL, text)
    text = _EMAIL_SPOKEN.sub(EMAIL, text)
    text = _HANDLE.sub(NAME, text)

    text = _BIRTH.sub(lambda m: m.group(0)[: _birth_value_start(m)] + DATE, text)
    text = _DATE_ISO.sub(DATE, text)
    text = _DATE_NUMERIC.sub(_numeric_date, text)
    text = _DATE_DAY_MONTH.sub(DATE, text)
    text = _DATE_MONTH_DAY.sub(DATE, text)
    text = _DATE_MONTH_YEAR.sub(DATE, text)

    text = _ADDRESS_SAID.sub(lambda m: m.group("intro") + ADDRESS, text)
    text = _STREET.sub(ADDRESS, text)
    text = _US_ZIP4.sub(POSTCODE, text)
    text = _POSTCODE_SAID.sub(_postcode_said, text)
    text = _UK_POSTCODE.sub(POSTCODE, text)
    text = _CA_POSTCODE.sub(POSTCODE, text)
    text = _EIRCODE.sub(POSTCODE, text)
    text = _NL_POSTCODE.sub(POSTCODE, text)
    text = _AU_POSTCODE.sub(_au_postcode, text)

    text = _UK_NI.sub(NUMBER, text)
    text = _ID_SAID.sub(_id_said, text)
    text = _NUMBER_RUN.sub(lambda m: _number(m.string, m), text)
    text = _ALNUM_ID.sub(_alnum_id, text)

    text = _NAME_INTRO.sub(_names, text)
    text = _THIS_IS.sub(_names, text)
    text = _HERE.sub(lambda m: _names(m, capitalised_only=True), text)
    text = _THIS_IS_CAPITALISED.sub(lambda m: _names(m, capitalised_only=True), text)
    text = _TITLE_NAME.sub(lambda m: _names(m, capitalised_only=True), text)
    text = _SIGN_OFF.sub(lambda m: _names(m, capitalised_only=True), text)
    return text


def _birth_value_start(match: re.Match[str]) -> int:
    """Where the date or year starts in a "born in ..." match (the intro is kept)."""
    found = match.group(0)
    value = re.search(r"(?:\d|['’]\d)[\d/.\-]*$", found)
    return value.start() if value else len(found)


def for_record(text: str, normalise: Callable[[str], str]) -> str:
    """The form in which an unanswered question is kept: scrubbed first, then the words
    between the placeholders normalised (``normalise`` is the engine's), placeholders kept."""
    pieces = _PLACEHOLDER.split(scrub(text))
    kept: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            kept.append(piece)
        elif words := normalise(piece):
            # Normalising can join what was apart ("0770-0900" -> "0770 0900"); scrub again.
            kept.append(_NUMBER_RUN.sub(lambda m: _number(m.string, m), words))
    result = " ".join(kept)
    if len(result) > MAX_KEPT:
        result = result[:MAX_KEPT].rsplit(" ", 1)[0]
    return result
