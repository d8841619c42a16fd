"""Tests of the safety rules: what must trigger each rule, and look-alikes that must not.

Safety replies override every other answer, so a miss can hurt a patient and a false alarm
buries the answer they asked for. Negated and distant-past mentions are set aside and the rest
of the question is answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import ClinicInfo, Engine, Status, load


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


TRIGGERS = [
    # opioids, surgery, emergency visits
    ("can I take tramadol with LDN?", "opioids"),
    ("I take codeine for my cough", "opioids"),
    ("I'm on oxycodone for my back", "opioids"),
    ("my doctor gave me oxycodon after my fall", "opioids"),  # typo
    ("I take Percocet sometimes", "opioids"),
    ("I'm on Suboxone", "opioids"),
    ("I'm on methadone", "opioids"),
    ("I have a fentanyl patch", "opioids"),
    ("I'm having surgery next week", "opioids"),
    ("I'm going to the ER", "opioids"),
    ("can I take ldn with opioids", "opioids"),
    ("I was prescribed tramadol yesterday", "opioids"),  # LDN not named
    ("I take oxycodone every day", "opioids"),  # LDN not named
    ("will ldn stop my pain meds working", "opioids"),
    ("I took tramadol last week", "opioids"),  # recent past is not exempt
    ("I had tramadol years ago but I'm back on it now", "opioids"),  # past, then current use
    # overdose
    ("I took too many tablets", "overdose"),
    ("I think I overdosed on my LDN", "overdose"),
    ("I accidentally took 5 ldn capsules", "overdose"),
    ("my toddler swallowed some of my pills", "overdose"),
    ("I took too many tramadol tablets", "overdose"),
    # severe reaction
    ("my throat is swelling", "severe-reaction"),
    ("my lips and tongue are swollen", "severe-reaction"),
    ("I can't breathe", "severe-reaction"),
    ("I have chest pain", "severe-reaction"),
    ("my eyes have gone yellow and my stomach really hurts", "severe-reaction"),
    ("yellow eyes and stomach pain since starting ldn", "severe-reaction"),
    ("no chest pain but my throat is swelling", "severe-reaction"),
    # severe skin reactions (Stevens-Johnson and its kin)
    ("I have a widespread rash with blisters", "severe-reaction"),
    ("my skin is peeling off in sheets", "severe-reaction"),
    ("I've got sores in my mouth and a rash all over", "severe-reaction"),
    ("could this be Stevens-Johnson syndrome?", "severe-reaction"),
    # curiosity or a question asked of anyone does not hide one's own use or a real overdose
    ("just curious, I had a tramadol this morning, is that a problem with ldn?", "opioids"),
    ("can you actually overdose on LDN? I've taken five of them today by mistake", "overdose"),
    ("Can you overdose on LDN? Asking because I want to", "overdose"),
    ("my husband is on oxycodone and the pain clinic just started him on LDN as well", "opioids"),
    # self-harm, direct
    ("I want to kill myself", "self-harm"),
    ("I've been thinking about suicide", "self-harm"),
    ("I want to hurt myself", "self-harm"),
    # self-harm, indirect
    ("I don't want to live anymore", "self-harm"),
    ("everyone would be better off without me", "self-harm"),
    ("I can't go on like this", "self-harm"),
    ("some days I want to end it all", "self-harm"),
    ("I don't see the point in going on", "self-harm"),
    ("I'd be better off dead", "self-harm"),
    ("what's the point of living anymore", "self-harm"),
    ("I wish I could go to sleep and not wake up", "self-harm"),
    ("there's no point in anything anymore", "self-harm"),
]


@pytest.mark.parametrize(("question", "rule_id"), TRIGGERS)
def test_safety_rule_triggers(engine: Engine, question: str, rule_id: str) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.SAFETY, rule_id), (
        reply.status,
        reply.entry_id,
    )
    rule = next(r for r in engine.kb.safety_rules if r.id == rule_id)
    assert reply.answer == rule.template.format_map(ClinicInfo().placeholders())
    assert reply.score == 100.0
    assert reply.sources == rule.sources and reply.sources
    assert reply.suggestions == ()


def test_every_rule_has_trigger_cases(engine: Engine) -> None:
    assert {rule for _, rule in TRIGGERS} == {r.id for r in engine.kb.safety_rules}


LOOK_ALIKES = [
    # (question, the entry that answers the rest, or None where only "not safety" is sensible)
    ("I'm not on any opioids", None),
    ("I'm not on any opioids, what time of day should I take LDN?", "when-to-take"),
    ("never taken opioids", None),
    ("I've never taken opioids, is LDN addictive?", "addiction-risk"),
    ("I had tramadol years ago", None),
    ("I had tramadol years ago, is LDN addictive?", "addiction-risk"),
    ("I had tramadol years ago, what are the side effects of LDN?", "side-effects"),
    ("is ldn an opioid?", "is-ldn-an-opioid"),
    ("does ldn block opioid receptors", "how-ldn-works"),
    ("is naltrexone like narcan the overdose reversal spray", "naltrexone-vs-naloxone"),
    ("is ldn a painkiller like morphine?", "is-ldn-an-opioid"),
    ("a painkiller like morphine?", None),
    ("I don't have chest pain or swelling", None),
    ("I don't have chest pain or swelling, but I feel a bit dizzy on LDN", "headache-dizziness"),
    ("I feel a bit dizzy on LDN", "headache-dizziness"),
    ("mild dizziness since starting LDN", "headache-dizziness"),
    # a time marker in the next clause covers a clause joined by "and", or a short tail
    ("I had tramadol and codeine years ago, is LDN addictive?", "addiction-risk"),
    ("I took tramadol, years ago", None),
    ("I had a fall last winter and broke my wrist, it's all healed now", None),
    # general questions, also when "and" splits them
    ("what is the difference between LDN and methadone?", None),
    ("Did the fibromyalgia lady in the case study take tramadol before LDN?", "case-studies"),
    # round 5: denied or curious suppositions, questions asked of anyone, other people's use
    ("is it even possible to overdose on LDN?", None),
    ("if my cat ever got hold of a capsule would it be dangerous? she hasn't", None),
    ("In general how long do people stop LDN before an operation? Nothing planned", None),
    ("my husband takes codeine and I'm on LDN, I never take his", None),
    ("my dad takes morphine and I'm his carer. I'm the one on LDN, not him", None),
    ("No surgery or dental work planned, the LDN has been fine", None),
    ("im never going back on opioids, ldn is way better", None),
]


@pytest.mark.parametrize(("question", "entry_id"), LOOK_ALIKES)
def test_look_alike_is_not_safety(engine: Engine, question: str, entry_id: str | None) -> None:
    reply = engine.ask(question)
    assert reply.status is not Status.SAFETY, reply.entry_id
    assert reply.entry_id not in {r.id for r in engine.kb.safety_rules}
    if entry_id is not None:
        assert (reply.status, reply.entry_id) == (Status.ANSWER, entry_id)


@pytest.mark.parametrize(
    ("question", "rule_id"),
    [
        ("I had tramadol years ago and I'm on codeine now", "opioids"),
        ("I had tramadol and codeine years ago but I'm back on codeine", "opioids"),
        ("im on suboxen 8mg", "opioids"),  # two edits in a long name
        # a time marker covers only its own clause when the other has a subject of its own
        ("I'm on codeine and I had tramadol years ago, can I start LDN?", "opioids"),
        ("I take codeine and had tramadol years ago", "opioids"),
        ("I had surgery years ago and take codeine daily", "opioids"),
        ("I went to A and E and they gave me morphine", "opioids"),
        ("I take codeine, years ago", "opioids"),  # a tail does not make the present past
        ("friend took a load of pills and won't wake up properly", "overdose"),  # not reaction
    ],
)
def test_time_spelling_and_rule_order(engine: Engine, question: str, rule_id: str) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.SAFETY, rule_id)


@pytest.mark.parametrize("word", ["morning", "percent", "cocaine", "caffeine", "methods"])
def test_fuzzy_drug_names_leave_ordinary_words_alone(engine: Engine, word: str) -> None:
    assert engine.ask(f"I take {word} with my LDN").status is not Status.SAFETY


@pytest.mark.parametrize(
    ("question", "rule_id"),
    [
        ("I'm pregnant and took too many tablets", "overdose"),
        ("can I drink alcohol with tramadol", "opioids"),
        ("can my child take codeine with ldn", "opioids"),
        ("I have liver disease and my eyes have gone yellow", "severe-reaction"),
    ],
)
def test_safety_wins_over_the_gaps(engine: Engine, question: str, rule_id: str) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.SAFETY, rule_id)


def test_a_long_message_with_a_crisis_at_the_end_still_gets_safety(engine: Engine) -> None:
    # Telegram allows 4,096 characters; a patient may tell their story before the crisis.
    story = (
        "I have had fibromyalgia for about twelve years and the pain is worst in my shoulders "
        "and hips, and nothing the doctors try seems to help for long. "
    ) * 8
    question = story + "Honestly, some days I want to end it all."
    assert 1000 < len(question) < 4096
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.SAFETY, "self-harm")


BATTERY = Path(__file__).with_name("safety_battery.txt")
KNOWN_MISSES = Path(__file__).with_name("safety_known_misses.txt")


def _battery(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        (message, expect)
        for expect, message in (line.split("|", 1) for line in lines if line and line[0] != "#")
    ]


def _assert_verdict(engine: Engine, question: str, expect: str) -> None:
    reply = engine.ask(question)
    if expect == "none":
        assert reply.status is not Status.SAFETY, f"false alarm {reply.entry_id}"
    elif expect.startswith("checkin-"):
        # A look-alike: the check-in of that kind (tier 2) with the ordinary reply.
        assert reply.status is not Status.SAFETY, f"false alarm {reply.entry_id}"
        assert (reply.tier, reply.checkin) == (2, expect.removeprefix("checkin-"))
    else:
        assert (reply.status, reply.entry_id) == (Status.SAFETY, expect)


@pytest.mark.parametrize(("question", "expect"), _battery(BATTERY))
def test_safety_battery(engine: Engine, question: str, expect: str) -> None:
    """Many ways patients say these things: each triggers its rule, or must not ("none")."""
    _assert_verdict(engine, question, expect)


@pytest.mark.xfail(strict=True, reason="a known miss: once caught, move it to the battery")
@pytest.mark.parametrize(("question", "expect"), _battery(KNOWN_MISSES))
def test_known_misses_are_still_missed(engine: Engine, question: str, expect: str) -> None:
    _assert_verdict(engine, question, expect)


@pytest.mark.parametrize(
    "question",
    [
        "I want to kill\u00admyself",  # soft hyphen between words
        "kill\u200bmyself",  # zero-width space between words
        "suic\u200bidal thoughts",  # zero-width space inside a word
        "SUİCİDAL",  # dotted capital I
        "I\u2019m on TRAMADOL",  # curly apostrophe, capitals
    ],
)
def test_invisible_and_unusual_characters_do_not_hide_safety(engine: Engine, question: str) -> None:
    assert engine.ask(question).status is Status.SAFETY
