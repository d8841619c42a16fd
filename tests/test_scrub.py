"""The scrubber: what could identify a person is gone, ordinary questions come through as typed.

Each PII case names the identifying parts that must be gone and, where the question has them,
the ordinary words that must stay. The ordinary questions hold the look-alikes: doses, times,
durations, ages, ranges, years, fractions, blood pressure, "may" and "march" as words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knowledge import Engine, load
from knowledge.scrub import MAX_KEPT, PLACEHOLDERS, for_record, scrub

# (message, identifying parts that must be gone, ordinary parts that must stay)
PII: list[tuple[str, list[str], list[str]]] = [
    # names
    ("my name is Jane Smith and I take 4.5mg", ["Jane", "Smith"], ["4.5mg", "and I take"]),
    ("My name's Priya Raman, can LDN help with CRPS?", ["Priya", "Raman"], ["CRPS"]),
    ("this is Tom O'Brien, is it ok to drink on ldn", ["Tom", "O'Brien"], ["drink on ldn"]),
    ("This is Siobhan from Cork, I have a question", ["Siobhan"], ["I have a question"]),
    ("I'm called Mohammed and I started last week", ["Mohammed"], ["started last week"]),
    ("call me Bea, what time should I take it", ["Bea"], ["what time"]),
    ("hi, my name is jean-luc picard, how long until ldn works", ["jean-luc", "picard"], []),
    ("Hi I'm Aroha Ngata, is LDN safe with my thyroid meds", ["Aroha", "Ngata"], ["thyroid"]),
    ("Name: Wei Chen. Question: can I split the tablet?", ["Wei", "Chen"], ["split the tablet"]),
    ("my first name is Giulia, is ldn vegan", ["Giulia"], ["vegan"]),
    ("this is dave speaking, can i take ldn with coffee", ["dave"], ["coffee"]),
    ("Sarah here, does ldn cause headaches", ["Sarah"], ["headaches"]),
    ("Dr Patel told me to start on 1.5mg, is that normal?", ["Patel"], ["1.5mg"]),
    ("my daughter is called Emily and she is 16, can she take LDN", ["Emily"], ["16"]),
    ("why do I get vivid dreams? Kind regards, Margaret Thompson", ["Margaret", "Thompson"], []),
    ("Is LDN ok with tramadol? Thank you, Roy", ["Roy"], ["tramadol"]),
    ("my telegram is @jane_doe_88 if the nurse wants to reach me", ["jane_doe_88"], ["nurse"]),
    ("I go by Sam, is low dose naltrexone an opioid", ["Sam"], ["opioid"]),
    # phone numbers: UK, US, Australia, India, EU
    ("call me on 07700 900123 about my dose", ["07700", "900123"], ["about my dose"]),
    ("my mobile is +44 7700 900123", ["7700", "900123"], []),
    ("ring the house on (020) 7946 0958", ["020", "7946", "0958"], []),
    ("+44 (0)20 7946 0958 is my number", ["7946", "0958"], []),
    ("US patient, cell (555) 123-4567", ["555", "123-4567"], []),
    ("text 555-123-4567 please", ["555-123-4567"], []),
    ("I am on +1 555 123 4567", ["555 123 4567"], []),
    ("our clinic line 1-800-555-0199 is busy", ["800-555-0199"], []),
    ("reach me at 555.123.4567", ["555.123.4567"], []),
    ("Melbourne, mob 0412 345 678", ["0412", "345 678"], []),
    ("landline +61 2 9876 5432", ["9876", "5432"], []),
    ("whatsapp +91 98765 43210", ["98765", "43210"], []),
    ("my number is 098765 43210", ["098765", "43210"], []),
    ("Berlin: +49 30 12345678", ["12345678"], []),
    ("Festnetz 030/12345678", ["12345678"], []),
    ("portable 06 12 34 56 78", ["12 34 56 78"], []),
    ("appelez le +33 6 12 34 56 78", ["12 34 56 78"], []),
    ("movil +34 612 34 56 78", ["612 34 56 78"], []),
    ("Dublin +353 87 123 4567", ["123 4567"], []),
    ("bel me +31 6 12345678", ["12345678"], []),
    ("my number is 07700-900-123", ["07700-900-123"], []),
    ("cellulare +39 312 345 6789", ["312 345 6789"], []),
    # e-mail addresses, also written out
    ("jane.smith@example.com can I take ldn at night", ["jane.smith", "example.com"], ["night"]),
    ("email me at j.doe+ldn@nhs.net", ["j.doe", "nhs.net"], []),
    ("you can write to jane at example dot com", ["jane", "example"], []),
    ("my email is jane dot doe at gmail dot co dot uk", ["jane", "doe", "gmail"], []),
    ("contact: bob (at) example (dot) org", ["bob", "example"], []),
    ("priya[at]mail[dot]in", ["priya", "mail"], []),
    # dates, numeric and written
    ("I was born on 3rd March 1961, can I take ldn", ["3rd", "1961"], ["can I take ldn"]),
    ("dob 03/04/61 is ldn ok for me", ["03/04/61"], []),
    ("born 1961-03-03", ["1961-03-03"], []),
    ("my birthday is March 3, 1961", ["March 3", "1961"], []),
    ("date of birth: 12.07.1975", ["12.07.1975"], []),
    ("I was born in 1958, is that too old for ldn", ["1958"], ["too old for ldn"]),
    ("I started on 14 February 2023, still no change", ["14 February", "2023"], ["no change"]),
    ("my appointment is on 2024-11-05", ["2024-11-05"], []),
    ("dob 7/4/1980", ["7/4/1980"], []),
    ("born on the 21st of may 1990", ["21st", "1990"], []),
    ("my son was born 5 Dec 2010", ["5 Dec", "2010"], []),
    # postcodes and zip codes
    ("I live in SW1A 1AA, is there a clinic near me", ["SW1A", "1AA"], ["clinic near me"]),
    ("postcode M1 1AE", ["M1 1AE"], []),
    ("near ls1 4ap", ["ls1", "4ap"], []),
    ("my zip is 90210", ["90210"], []),
    ("Beverly Hills, CA 90210-1234", ["90210", "1234"], []),
    ("Ottawa K1A 0B1", ["K1A", "0B1"], []),
    ("Sydney NSW 2000", ["2000"], []),
    ("Dublin D02 X285", ["D02", "X285"], []),
    ("1012 AB Amsterdam", ["1012 AB"], []),
    ("Bangalore 560 001", ["560 001"], []),
    ("10115 Berlin", ["10115"], []),
    ("I live at 221B Baker Street", ["221B", "Baker"], []),
    ("my address is 12 rue de la Paix, Paris", ["12 rue de la Paix"], []),
    # NHS numbers, record numbers, insurance and national ids
    ("my nhs number is 485 777 3456", ["485 777 3456", "485", "3456"], []),
    ("NHS no. 4857773456", ["4857773456"], []),
    ("485-777-3456 is my NHS number", ["485-777-3456"], []),
    ("MRN: A1234567", ["A1234567"], []),
    ("hospital number RX7 12345", ["RX7", "12345"], []),
    ("my insurance id is XYZ-1234-5678", ["XYZ-1234-5678", "1234", "5678"], []),
    ("SSN 123-45-6789", ["123-45-6789"], []),
    ("NI number QQ 12 34 56 C", ["QQ 12 34 56 C"], []),
    ("medicare 2123 45670 1", ["2123", "45670"], []),
    ("aadhaar 1234 5678 9012", ["1234 5678 9012"], []),
    ("policy number 99887766", ["99887766"], []),
    ("patient id 4521, do I need a new prescription", ["4521"], ["new prescription"]),
    ("CHI 0101011234", ["0101011234"], []),
    ("health card 1234-567-890", ["1234-567-890"], []),
]

ORDINARY = [
    "I'm nauseous on 4.5 mg",
    "can I take it at 10pm",
    "4.5mg for 2 weeks",
    "I'm 45 and have fibromyalgia",
    "what is ldn",
    "can I take ldn at 22:30",
    "is 1.5-4.5 mg the usual range",
    "I started 3 weeks ago on 0.5mg",
    "I take 50000 iu of vitamin d weekly",
    "my dose went from 1.5 to 3 mg",
    "is it ok to take 4.5mg at 9.30pm",
    "I've had insomnia since 2019",
    "I'm 67, is ldn safe for older people",
    "I weigh 70 kg, does the dose depend on weight",
    "my blood pressure is 150/100, is that a problem",
    "can I take 1/2 tablet?",
    "How long until it works? 6-8 weeks?",
    "I take it between 10.30-11.30pm",
    "my pain is 7/10 most days",
    "I walk 10000 steps a day, can I exercise on ldn",
    "my pharmacy charges £25 a month",
    "I may take it in the morning instead",
    "may I take it with food",
    "is this normal",
    "this is my third week",
    "this is normal right?",
    "This is LDN, right?",
    "can you call me back",
    "should I call my doctor",
    "my doctor said to take it at night",
    "the nurse will call me tomorrow",
    "I'm called in for surgery next week",
    "I'm new to ldn",
    "Hi, I'm new here, what is ldn",
    "Hello, I'm nervous about starting",
    "I have MS, will ldn help",
    "does LDN help with covid-19 fatigue",
    "can I take it with sertraline 100mg",
    "I take 2 x 2mg capsules",
    "after 12 weeks no change",
    "is 4.5mg at 10pm better than 3mg at 8am",
    "My dose is 4.5 mg since Jan",
    "I started in June, when will it work",
    "ldn and hba1c levels",
    "vitamin d3 2000 iu and ldn",
    "is 0.5mg too low",
    "do I need 12 hours between doses",
    "it's been 2 months",
    "I've been on 4.5 mg for 18 months",
    "can I take 4.5 mg 2-3 hours after dinner",
    "I take it at 11 pm",
    "I take it at 7am and 7pm",
    "vivid dreams on 3mg, week 2",
    "is 5 mg too much",
    "do I need a blood test every 3 months",
    "ldn 4.5mg vs 6mg",
    "I take 1000-2000 iu vitamin d",
    "I take b12 3 times a week and d3 2nd week",
    "at 21:00 or at 23:00?",
    "I'm 32 and pregnant, can I take it",
    "in case 4.5mg is too much what do I do",
    "is 12.5 mg a low dose",
    "Thanks for the help",
    "my husband is 70, can he take LDN",
    "I can't sleep on ldn",
    "March is when I started, can I march on with it",
    "started 3 weeks ago, 1.5 mg, 3 mg next",
    "is it normal? this is week 4 on 4.5",
    "I'm on day 3 of 1.5mg",
    "between 1 and 4.5 mg?",
    "I live at home with my mum",
    "call me maybe, is that silly",
    "This is Tuesday's question",
    "it costs $45.99 per 30 capsules",
    "I take it at 2300",
    "ok my a1c is 6.5",
    "I am 5 ft 4 and 120 lbs",
    "can i take it 2 may cause",
    "take 3 may be too many",
    "dec 2 doses",
    "I use 1.5 ml of 1mg/ml liquid",
    "Covid 19 booster and ldn",
    "St John's wort and ldn",
    "I had 2 doses of pfizer in 2021",
    "week 1: 1.5mg, week 2: 3mg, week 3: 4.5mg",
    "I take it at 10:30pm - 11pm",
    "15 to 20 minutes after food",
]


def _gone(part: str, kept: str) -> bool:
    """The part is not in the kept text, not even one of its words or longer digit groups."""
    low = kept.lower()
    if re.search(rf"(?<![\w]){re.escape(part.lower())}(?![\w])", low):
        return False
    for piece in re.split(r"[\s,.:()]+", part):
        if len(piece) >= 3 and re.search(rf"(?<![\w]){re.escape(piece.lower())}(?![\w])", low):
            return False
    return True


def test_the_lists_are_large_enough() -> None:
    assert len(PII) >= 50
    assert len(ORDINARY) >= 50


@pytest.mark.parametrize(("message", "secrets", "ordinary"), PII, ids=[m for m, _, _ in PII])
def test_identifying_parts_are_gone(message: str, secrets: list[str], ordinary: list[str]) -> None:
    kept = scrub(message)
    for secret in secrets:
        assert _gone(secret, kept), f"{secret!r} survived in {kept!r}"
    for part in ordinary:
        assert part in kept, f"{part!r} was lost from {kept!r}"
    assert any(p in kept for p in PLACEHOLDERS)


@pytest.mark.parametrize("question", ORDINARY)
def test_ordinary_questions_come_through_unchanged(question: str) -> None:
    assert scrub(question) == question


def test_scrubbing_is_idempotent() -> None:
    for message, _, _ in PII:
        once = scrub(message)
        assert scrub(once) == once


def test_the_evaluation_and_safety_questions_keep_their_words() -> None:
    """Over the 1,500 tuning and safety-battery messages, scrubbing changes only those with a
    name or a date in them (the held-out half is not looked at)."""
    root = Path(__file__).parent
    questions = [
        item["q"]
        for name in ("tuning.yaml", "tuning2.yaml")
        for item in yaml.safe_load((root / "eval" / name).read_text(encoding="utf-8"))
    ]
    for line in (root / "safety_battery.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            questions.append(line.split("|", 1)[1])
    changed = {q: scrub(q) for q in questions if scrub(q) != q}
    assert len(questions) > 1400
    # 17 today: 13 sign-offs ("Kind regards, Arthur"), "Jean here", "this is Mavis", dates.
    assert len(changed) <= 20, changed
    for before, after in changed.items():
        # Only names and dates were taken out: every other word is still there.
        assert set(re.findall(r"\w+", after)) - {"name", "date"} <= set(re.findall(r"\w+", before))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def test_for_record_normalises_around_the_placeholders(engine: Engine) -> None:
    kept = for_record(
        "Hi, my name is Jane SMITH! Call me on 07700 900123 re: LDN", engine.normalise
    )
    assert kept == "hi my name is [name] call me on [phone] re ldn"
    assert for_record("what is the capital of mongolia", engine.normalise) == (
        "what is the capital of mongolia"
    )
    assert for_record("", engine.normalise) == ""
    assert for_record("jane@example.com", engine.normalise) == "[email]"


def test_for_record_scrubs_what_normalising_brings_together(engine: Engine) -> None:
    # "_" joins the groups into one word for the scrubber; normalised, they are a phone number.
    assert scrub("call 0770_0900_123") == "call 0770_0900_123"
    assert for_record("call 0770_0900_123", engine.normalise) == "call [phone]"
    # Full-width digits are digits to the scrubber too.
    kept = for_record("number \uff10\uff17\uff17\uff10\uff10\uff19\uff10\uff10", engine.normalise)
    assert not re.search(r"\d{5}", kept)


def test_for_record_is_bounded(engine: Engine) -> None:
    kept = for_record("why " * 2000, engine.normalise)
    assert 0 < len(kept) <= MAX_KEPT


def test_long_and_odd_input_does_not_stall() -> None:
    # Inputs shaped to make a careless pattern backtrack; each must simply finish.
    for text in (
        "1 " * 5000 + "x",
        "1" * 20_000 + "a",
        "a." * 5000,
        "call me " * 2000,
        "jane dot " * 3000 + "at",
        "(1)" * 5000,
        "my name is " + "a " * 5000,
    ):
        assert isinstance(scrub(text), str)
