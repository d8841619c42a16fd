"""Tests of the knowledge base and the engine: content, references, loader validation, decisions.

The knowledge data is loaded from the package (knowledge/data). Checks against the checked
literature read ``../shared/references.yaml`` (``LDN_SHARED_DIR`` overrides the shared folder)
and are skipped only when that folder is absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge import ClinicInfo, Engine, KnowledgeBase, Reply, Status, ValidationError, load
from knowledge.loader import DEFAULT_PATH, FILES

KB = load()
ENTRY_IDS = [e.id for e in KB.entries]
CHECKED_SOURCE_IDS = sorted(s.id for s in KB.sources.values() if s.kind != "slide")

# The 15 distinct slide titles of the clinic's presentation, in order.
SLIDES = (
    "Low Dose Naltrexone for Pain Management",
    "History of Naltrexone",
    "Introduction to Low Dose Naltrexone (LDN)",
    "How Low Dose Naltrexone Works",
    "Conditions Treated with LDN for Pain",
    "Benefits of Low Dose Naltrexone for Pain Management",
    "Key Research Studies on LDN for Pain Management",
    "Key Research Studies on LDN for Pain Management (Continued)",
    "Dosage and Administration",
    "Potential Side Effects",
    "Practical Considerations for Clinicians",
    "Case Studies and Clinical Observations",
    "Conclusion and Future Directions",
    "Questions",
    "References",
)

REPLY_KEYS = {
    "question",
    "status",
    "entry_id",
    "score",
    "answer",
    "sources",
    "suggestions",
    "tier",
    "checkin",
}
# Strings that might be too vague to answer outright; at least one must get a clarification.
AMBIGUOUS = ("side", "effects", "work", "better", "ldn good", "can i take ldn", "when to take")
DOI = re.compile(r"10\.\d{4,9}/[-._;()/:A-Za-z0-9]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
UNVERIFIED = re.compile(
    r"could not (be )?(verif\w*|found|find)|not (be )?(verified|found)|unverified"
)


def shared_dir() -> Path:
    override = os.environ.get("LDN_SHARED_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(KB)


@pytest.fixture(scope="module")
def references() -> dict[str, dict[str, Any]]:
    """The checked records of shared/references.yaml by id; a skip only if the folder is absent."""
    folder = shared_dir()
    if not folder.is_dir():
        reason = f"shared folder not found at {folder} (set LDN_SHARED_DIR to check references)"
        print(reason)
        pytest.skip(reason)
    data = yaml.safe_load((folder / "references.yaml").read_text(encoding="utf-8"))
    return {r["id"]: r for r in data["references"]}


def _every_text(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(where, text) for every answer, gap message and safety template."""
    return (
        [(f"entry {e.id}", e.answer) for e in kb.entries]
        + [(f"gap {g.id}", g.message) for g in kb.gaps]
        + [(f"safety {r.id}", r.template) for r in kb.safety_rules]
    )


# -- the presentation's slides -------------------------------------------------------------


def test_the_slide_list_has_fifteen_distinct_titles() -> None:
    assert len(SLIDES) == len(set(SLIDES)) == 15


@pytest.mark.parametrize("title", SLIDES)
def test_every_slide_is_cited_by_an_entry(title: str) -> None:
    citing = [
        e.id for e in KB.entries if any(s.kind == "slide" and s.slide == title for s in e.sources)
    ]
    assert citing, f"no entry cites the slide {title!r}"


def test_slide_sources_name_only_real_slides() -> None:
    named = {s.slide for s in KB.sources.values() if s.kind == "slide"}
    assert named == set(SLIDES)


@pytest.mark.parametrize("title", SLIDES)
def test_slide_title_occurs_in_the_presentation(title: str) -> None:
    text_file = shared_dir() / "seed" / "ldn-presentation.txt"
    if not text_file.is_file():
        pytest.skip(f"presentation text not found at {text_file}")
    lines = {line.strip() for line in text_file.read_text(encoding="utf-8").splitlines()}
    assert title in lines


# -- every entry can be reached -----------------------------------------------------------


@pytest.mark.parametrize("entry_id", ENTRY_IDS)
def test_entry_is_reachable_by_its_first_question(engine: Engine, entry_id: str) -> None:
    entry = engine.entry(entry_id)
    assert entry is not None
    reply = engine.ask(entry.questions[0])
    assert (reply.status, reply.entry_id) == (Status.ANSWER, entry_id)
    assert reply.answer == entry.answer
    assert reply.sources == entry.sources


# -- sources against the checked literature -------------------------------------------------


@pytest.mark.parametrize("source_id", CHECKED_SOURCE_IDS)
def test_checked_source_matches_its_reference_record(
    references: dict[str, dict[str, Any]], source_id: str
) -> None:
    assert source_id in references, f"{source_id} is not in shared/references.yaml"
    source = KB.sources[source_id]
    record = references[source_id]
    expected_doi = str(record["doi"]) if record.get("doi") is not None else None
    assert source.doi == expected_doi
    assert source.pmid == record.get("pmid")


@pytest.mark.parametrize("source_id", CHECKED_SOURCE_IDS)
def test_checked_source_copies_the_bibliographic_fields(
    references: dict[str, dict[str, Any]], source_id: str
) -> None:
    source = KB.sources[source_id]
    record = references[source_id]
    for field in ("authors", "year", "title", "journal", "volume_pages", "url"):
        value = record.get(field)
        expected = value if value is None or isinstance(value, int) else str(value)
        assert getattr(source, field) == expected, f"{source_id}: {field}"


def test_no_doi_in_the_knowledge_data_is_unchecked(references: dict[str, dict[str, Any]]) -> None:
    checked = {str(r["doi"]).lower() for r in references.values() if r.get("doi")}
    found = {
        (path.name, m.group().rstrip(".,;:)").lower())
        for path in sorted(DEFAULT_PATH.glob("*.yaml"))
        for m in DOI.finditer(path.read_text(encoding="utf-8"))
    }
    assert found, "expected the sources to carry DOIs"
    assert sorted(f"{name}: {doi}" for name, doi in found if doi not in checked) == []


# -- what the answers say -----------------------------------------------------------------


def test_history_gives_1994_for_the_alcohol_approval() -> None:
    entry = KB.entry("ldn-history")
    assert entry is not None
    clauses = [c for c in re.split(r"[.;]\s+", entry.answer) if "alcohol" in c.lower()]
    assert any("1994" in c for c in clauses)
    # 1984 may appear next to alcohol only as the presentation's figure, corrected in place.
    for clause in clauses:
        if "1984" in clause:
            assert "presentation" in clause and "1994" in clause, clause


def test_no_text_claims_a_1984_alcohol_approval() -> None:
    for where, text in _every_text(KB):
        for clause in re.split(r"[.;]\s+", text):
            if "1984" in clause and "alcohol" in clause.lower():
                assert "presentation" in clause and "1994" in clause, f"{where}: {clause}"


def test_unverifiable_citations_are_flagged_where_named() -> None:
    named = 0
    for where, text in _every_text(KB):
        for sentence in SENTENCE.split(text):
            if re.search(r"\b(Zagon|Amato|Lutz)\b", sentence):
                named += 1
                assert UNVERIFIED.search(sentence), f"{where}: {sentence}"
    assert named, "expected at least one answer to discuss the presentation's citations"


@pytest.mark.parametrize(
    "entry_id", ["fibromyalgia", "multiple-sclerosis", "crps", "does-ldn-work", "benefits-overview"]
)
def test_benefit_answers_cite_a_balancing_review(entry_id: str) -> None:
    entry = KB.entry(entry_id)
    assert entry is not None
    assert {s.id for s in entry.sources} & {"rassi-mariani-2024", "fhi-2015"}


@pytest.mark.parametrize("entry_id", ["starting-dose", "titration"])
def test_dose_answers_defer_to_the_prescriber(entry_id: str) -> None:
    entry = KB.entry(entry_id)
    assert entry is not None
    assert "prescriber" in entry.answer
    assert re.search(r"do not change it on your own", entry.answer)


# -- loader validation ----------------------------------------------------------------------

BARE_NO = "__BARE_NO__"


def _read(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def _write(folder: Path, name: str, data: Any) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    (folder / name).write_text(text.replace(BARE_NO, "no"), encoding="utf-8")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_PATH, target)
    return target


def test_a_rewritten_copy_of_the_data_loads(data_copy: Path) -> None:
    # The control for the cases below: rewriting the YAML alone breaks nothing.
    before = load(data_copy)
    for name in FILES:
        _write(data_copy, name, _read(data_copy, name))
    after = load(data_copy)
    assert after.entries == before.entries
    assert after.safety_rules == before.safety_rules
    assert after.gaps == before.gaps
    assert after.lexicon == before.lexicon


def _unknown_source(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "entries.yaml")
    data["entries"][0]["sources"].append("nobody-2099")
    _write(d, "entries.yaml", data)
    return "entries.yaml", data["entries"][0]["id"], "sources", "unknown source 'nobody-2099'"


def _duplicate_entry(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "entries.yaml")
    data["entries"][1]["id"] = data["entries"][0]["id"]
    _write(d, "entries.yaml", data)
    return "entries.yaml", data["entries"][0]["id"], "id", "duplicate id"


def _missing_answer(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "entries.yaml")
    del data["entries"][2]["answer"]
    _write(d, "entries.yaml", data)
    return "entries.yaml", data["entries"][2]["id"], "answer", "must be a non-empty string"


def _unknown_category(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "entries.yaml")
    data["entries"][3]["category"] = "astrology"
    _write(d, "entries.yaml", data)
    return "entries.yaml", data["entries"][3]["id"], "category", "unknown category 'astrology'"


def _bad_regex(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "safety.yaml")
    data["rules"][0]["terms"].append(r"\b(unclosed")
    _write(d, "safety.yaml", data)
    return "safety.yaml", data["rules"][0]["id"], "terms", "bad regular expression"


def _bad_gap_regex(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "gaps.yaml")
    data["gaps"][0]["patterns"].append("[unclosed")
    _write(d, "gaps.yaml", data)
    return "gaps.yaml", data["gaps"][0]["id"], "patterns", "bad regular expression"


def _unknown_placeholder_template(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "safety.yaml")
    data["rules"][1]["template"] += " Or ring {phone}."
    _write(d, "safety.yaml", data)
    return "safety.yaml", data["rules"][1]["id"], "template", "unknown placeholder {phone}"


def _unknown_placeholder_message(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "gaps.yaml")
    data["gaps"][0]["message"] += " Ask {doctor}."
    _write(d, "gaps.yaml", data)
    return "gaps.yaml", data["gaps"][0]["id"], "message", "unknown placeholder {doctor}"


def _bare_no_in_entry_list(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "entries.yaml")
    data["entries"][0]["keywords"].append(BARE_NO)
    _write(d, "entries.yaml", data)
    return "entries.yaml", data["entries"][0]["id"], "keywords", "in quotes"


def _bare_no_in_negators(d: Path) -> tuple[str, str, str, str]:
    data = _read(d, "safety.yaml")
    data["negators"] = [BARE_NO if n == "no" else n for n in data["negators"]]
    _write(d, "safety.yaml", data)
    return "safety.yaml", "(top level)", "negators", "in quotes"


CORRUPTIONS: dict[str, Callable[[Path], tuple[str, str, str, str]]] = {
    "unknown-source-id": _unknown_source,
    "duplicate-entry-id": _duplicate_entry,
    "missing-answer": _missing_answer,
    "unknown-category": _unknown_category,
    "bad-regex-in-safety": _bad_regex,
    "bad-regex-in-gaps": _bad_gap_regex,
    "unknown-placeholder-in-template": _unknown_placeholder_template,
    "unknown-placeholder-in-gap-message": _unknown_placeholder_message,
    "bare-no-in-a-list": _bare_no_in_entry_list,
    "bare-no-in-negators": _bare_no_in_negators,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_broken_data_names_file_entry_and_field(
    data_copy: Path, corrupt: Callable[[Path], tuple[str, str, str, str]]
) -> None:
    file, entry, field, problem = corrupt(data_copy)
    with pytest.raises(ValidationError) as caught:
        load(data_copy)
    error = caught.value
    assert (error.file, error.entry, error.field) == (file, entry, field)
    message = str(error)
    assert message.startswith(f"{file}, entry {entry!r}, field {field!r}: ")
    assert problem in message
    assert "\n" not in message


def test_bare_no_as_a_lexicon_key_gets_the_quote_hint(data_copy: Path) -> None:
    # Staff extend lexicon.yaml by hand; `no: know` makes the key the boolean False.
    data = _read(data_copy, "lexicon.yaml")
    data["spelling"][BARE_NO] = "know"
    _write(data_copy, "lexicon.yaml", data)
    with pytest.raises(ValidationError) as caught:
        load(data_copy)
    assert (caught.value.file, caught.value.field) == ("lexicon.yaml", "spelling")
    assert "in quotes" in str(caught.value)


def test_an_anchor_must_be_one_lower_case_word(data_copy: Path) -> None:
    # Anchors are looked up among the normalised question's words: a phrase never matches.
    data = _read(data_copy, "lexicon.yaml")
    data["anchors"].append("low dose")
    _write(data_copy, "lexicon.yaml", data)
    with pytest.raises(ValidationError) as caught:
        load(data_copy)
    assert (caught.value.file, caught.value.field) == ("lexicon.yaml", "anchors")


@pytest.mark.parametrize("name", FILES)
def test_yaml_syntax_error_names_the_file_and_line(data_copy: Path, name: str) -> None:
    lines = (data_copy / name).read_text(encoding="utf-8").splitlines()
    lines.append("broken: one: two")
    (data_copy / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load(data_copy)
    assert caught.value.file == name
    assert str(caught.value) == f"{name}: not valid YAML at line {len(lines)}"


def test_missing_file_and_missing_folder_are_validation_errors(
    data_copy: Path, tmp_path: Path
) -> None:
    (data_copy / "gaps.yaml").unlink()
    with pytest.raises(ValidationError, match=r"gaps\.yaml: file not found"):
        load(data_copy)
    with pytest.raises(ValidationError, match="not a directory"):
        load(tmp_path / "nowhere")


# -- engine decisions -------------------------------------------------------------------------


def _clarify_case(engine: Engine) -> Reply:
    replies = [engine.ask(q) for q in AMBIGUOUS]
    clarified = [r for r in replies if r.status is Status.CLARIFY]
    assert clarified, f"none of {AMBIGUOUS} gets a clarification"
    return clarified[0]


def test_there_are_exactly_four_statuses() -> None:
    assert {s.value for s in Status} == {"answer", "clarify", "fallback", "safety"}


def test_each_status_is_produced(engine: Engine) -> None:
    produced = {
        engine.ask("What is low dose naltrexone?").status,
        _clarify_case(engine).status,
        engine.ask("tell me a joke").status,
        engine.ask("I want to kill myself").status,
    }
    assert produced == set(Status)


@pytest.mark.parametrize(
    "question",
    [
        "What are the side effects of LDN?",
        "I took too many tablets",
        "Can I take LDN while pregnant?",
        "what about it",
        "",
    ],
)
def test_as_json_has_exactly_the_keys(engine: Engine, question: str) -> None:
    data = engine.ask(question).as_json()
    assert set(data) == REPLY_KEYS
    assert json.loads(json.dumps(data)) == data
    assert data["question"] == question
    assert data["status"] in {s.value for s in Status}


def test_as_json_of_a_clarification_lists_the_suggestions(engine: Engine) -> None:
    reply = _clarify_case(engine)
    data = reply.as_json()
    assert set(data) == REPLY_KEYS
    assert data["suggestions"] == [
        {"entry_id": s.entry_id, "question": s.question} for s in reply.suggestions
    ]


def test_as_json_sources_carry_links() -> None:
    reply = Engine(KB).ask("Does LDN help fibromyalgia?")
    sources = reply.as_json()["sources"]
    assert isinstance(sources, list)
    by_id = {s["id"]: s for s in sources}
    assert by_id["younger-2013"]["url"] == "https://doi.org/10.1002/art.37734"
    assert "url" not in by_id["slide-conditions"]
    assert by_id["slide-conditions"]["kind"] == "slide"


def test_safety_replies_score_100(engine: Engine) -> None:
    for question in ("I want to kill myself", "my throat is swelling", "I take tramadol"):
        reply = engine.ask(question)
        assert reply.status is Status.SAFETY
        assert reply.score == 100.0
        assert reply.as_json()["score"] == 100.0


def test_only_clarifications_have_suggestions_and_never_more_than_three(engine: Engine) -> None:
    clarify = _clarify_case(engine)
    assert 1 <= len(clarify.suggestions) <= 3
    ids = [s.entry_id for s in clarify.suggestions]
    assert len(ids) == len(set(ids))
    for suggestion in clarify.suggestions:
        entry = engine.entry(suggestion.entry_id)
        assert entry is not None and suggestion.question == entry.questions[0]
    for question in (*AMBIGUOUS, "What is LDN?", "I take codeine", "can I drink wine", "?"):
        reply = engine.ask(question)
        assert len(reply.suggestions) <= 3
        if reply.status is not Status.CLARIFY:
            assert reply.suggestions == ()


def test_another_medicines_side_effects_are_not_answered(engine: Engine) -> None:
    reply = engine.ask("what are the side effects of ibuprofen")
    assert reply.status is Status.FALLBACK
    assert reply.entry_id not in ENTRY_IDS
    assert reply.answer not in {e.answer for e in KB.entries}


@pytest.mark.parametrize(
    "question",
    ["who won the football last night", "tell me a joke", "what's the weather like today?"],
)
def test_chit_chat_falls_back(engine: Engine, question: str) -> None:
    reply = engine.ask(question)
    assert reply.status is Status.FALLBACK, (reply.status, reply.suggestions)
    assert reply.entry_id is None
    assert reply.sources == ()


@pytest.mark.parametrize(
    "question", ["", "   ", "\n\t", "?", "?!?", "...", "!!! ,,, ;;", "1", "4.5", "2 3"]
)
def test_empty_or_punctuation_only_input_falls_back(engine: Engine, question: str) -> None:
    reply = engine.ask(question)
    assert reply.status is Status.FALLBACK
    assert (reply.entry_id, reply.sources, reply.suggestions) == (None, (), ())
    assert "question" in reply.answer


GAP_CASES = [
    ("Can I take LDN while I'm pregnant?", "gap-pregnancy"),
    ("is it ok to take ldn while breastfeeding", "gap-pregnancy"),
    ("Can my 12 year old son take LDN?", "gap-children"),
    ("Can I take LDN with ibuprofen?", "gap-other-medicines"),
    ("can i take ldn with my other medications", "gap-other-medicines"),
    ("Can I drink alcohol while on LDN?", "gap-alcohol"),
    ("is a glass of wine ok with ldn", "gap-alcohol"),
    ("I forgot to take my dose last night, what should I do?", "gap-missed-dose"),
    ("can I take a double dose if I missed one", "gap-missed-dose"),
    ("I have liver disease, can I take LDN?", "gap-liver-kidney"),
    ("is ldn ok with kidney problems", "gap-liver-kidney"),
    ("does ldn help with long covid", "gap-other-conditions"),
    ("can LDN treat depression?", "gap-other-conditions"),
    ("can you send me a repeat prescription for my ldn", "gap-prescriptions"),
    ("I'm running out of my LDN capsules", "gap-prescriptions"),
    ("I threw up an hour after my dose, should I take it again?", "gap-vomiting"),
    ("can I stop taking LDN suddenly?", "gap-stopping"),
    ("I want to take a break from ldn over christmas", "gap-stopping"),
    ("should ldn be kept in the fridge", "gap-storage"),
    ("I'm flying to Japan, how do I handle the time zones?", "gap-travel"),
    ("does ldn come as a liquid instead of capsules", "gap-forms"),
    ("I was sick an hour after my dose", "gap-vomiting"),
    ("are ldn drops better than capsules", "gap-forms"),
    ("how much ldn should I give my dog for his arthritis", "gap-animals"),
    ("is ldn used for cats with cancer", "gap-animals"),
]
NOT_GAPS = [
    ("my stomach is churning like I'm going to throw up", "gap-vomiting"),
    ("can I carry on with physio while on LDN", "gap-travel"),
    ("can I buy LDN at a drug store", "gap-storage"),
    ("when will the vivid dreams stop", "gap-stopping"),
    ("I take my capsule at night, is that right", "gap-forms"),
    ("I have been sick with a cold since starting ldn", "gap-vomiting"),
    ("since starting ldn I fly off the handle at my kids", "gap-travel"),
    ("does ldn make you feel too hot at night", "gap-storage"),
    ("are there other forms of pain relief I can use with ldn", "gap-forms"),
    ("how do I stop it from giving me nightmares", "gap-stopping"),
    ("my pain drops in the evening after my dose", "gap-forms"),
    ("I would love to walk the dog again, will LDN help?", "gap-animals"),
    ("my husband is a vet, can I take LDN with my arthritis?", "gap-animals"),
]
ADVICE = re.compile(
    r"\bmg\b|\d\s*(mg|mcg|ml)\b|\b(it is|it's|is) (safe|fine|ok|okay)\b"
    r"|\byou (can|may|should) (take|drink|double|skip|use)\b"
)


@pytest.mark.parametrize(("question", "gap_id"), GAP_CASES)
def test_gap_questions_get_their_gap_and_no_advice(
    engine: Engine, question: str, gap_id: str
) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.FALLBACK, gap_id)
    assert reply.suggestions == ()
    assert not ADVICE.search(reply.answer), reply.answer
    assert "{" not in reply.answer and "your clinic" in reply.answer


@pytest.mark.parametrize(("question", "gap_id"), NOT_GAPS)
def test_look_alikes_do_not_get_the_gap(engine: Engine, question: str, gap_id: str) -> None:
    assert engine.ask(question).entry_id != gap_id


def test_every_gap_has_a_case() -> None:
    assert {gap for _, gap in GAP_CASES} == {g.id for g in KB.gaps}


def test_safety_texts_read_well_without_clinic_numbers() -> None:
    engine = Engine(KB, ClinicInfo())
    self_harm = engine.ask("I want to end it all")
    assert self_harm.entry_id == "self-harm"
    assert "your local emergency number" in self_harm.answer
    assert "a local crisis line" in self_harm.answer
    for question in ("my throat is swelling", "I took too many tablets", "I take tramadol"):
        reply = engine.ask(question)
        assert "your local emergency number" in reply.answer
        assert "your clinic" in reply.answer
        assert "{" not in reply.answer and "None" not in reply.answer


def test_safety_texts_show_the_configured_numbers() -> None:
    clinic = ClinicInfo(
        name="Riverside Pain Clinic",
        phone="555-0100",
        hours="Mon-Fri 9-5",
        emergency_number="911",
        crisis_line="988",
    )
    engine = Engine(KB, clinic)
    self_harm = engine.ask("I want to end it all")
    assert "988" in self_harm.answer and "911" in self_harm.answer
    assert "a local crisis line" not in self_harm.answer
    assert "your local emergency number" not in self_harm.answer
    opioids = engine.ask("I take tramadol")
    assert "Riverside Pain Clinic on 555-0100 (Mon-Fri 9-5)" in opioids.answer
    assert "911" in opioids.answer
    gap = engine.ask("Can I drink alcohol while on LDN?")
    assert "Riverside Pain Clinic on 555-0100" in gap.answer


def test_a_fallback_still_says_where_to_turn_in_an_emergency() -> None:
    """A crisis the rules miss ends in a fallback: that must not leave the patient nowhere."""
    plain = Engine(KB, ClinicInfo()).ask("what's the capital of france")
    assert plain.status is Status.FALLBACK
    assert "call your local emergency number" in plain.answer
    configured = Engine(KB, ClinicInfo(emergency_number="112")).ask("what's the capital of france")
    assert "call 112" in configured.answer


@pytest.mark.parametrize(
    "question",
    [
        "what are the side effects of ldn " * 300,
        "a" * 10_000,
        "ldn " * 2_500,
        "é" * 10_000,
        "?" * 10_000,
    ],
    ids=["repeated-question", "one-long-word", "repeated-word", "non-ascii", "punctuation"],
)
def test_very_long_input_gets_a_reply(engine: Engine, question: str) -> None:
    reply = engine.ask(question)
    assert reply.question == question
    assert reply.status in set(Status)
    assert set(reply.as_json()) == REPLY_KEYS


def test_answer_entry_returns_the_entry_or_none(engine: Engine) -> None:
    reply = engine.answer_entry("titration")
    assert reply is not None
    assert (reply.status, reply.entry_id, reply.score) == (Status.ANSWER, "titration", 100.0)
    assert engine.answer_entry("no-such-entry") is None


# -- the questions patients really ask (issue 13) ------------------------------------------------

FIRST_MONTHS = [
    ("what dose should I take", "what-dose"),
    ("how much should I take?", "what-dose"),
    ("I'm starting LDN next week, what should I expect?", "first-weeks"),
    ("is LDN approved by the FDA for pain?", "fda-status"),
    ("is ldn off label", "fda-status"),
    ("where can I get LDN made up", "compounded-ldn"),
    ("can I take it in the morning instead", "when-to-take"),
    ("do I need blood tests on LDN", "monitoring"),
]


@pytest.mark.parametrize(("question", "entry_id"), FIRST_MONTHS)
def test_first_months_questions_get_their_entry(
    engine: Engine, question: str, entry_id: str
) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.ANSWER, entry_id)


def test_the_dose_answers_say_the_prescriber_sets_it(engine: Engine) -> None:
    for entry_id in ("what-dose", "starting-dose", "titration"):
        entry = engine.entry(entry_id)
        assert entry is not None and "prescriber sets your dose" in entry.answer


@pytest.mark.parametrize("word", ["dose", "dosage", "mg"])
def test_one_word_that_names_several_entries_is_a_clarify_among_them(
    engine: Engine, word: str
) -> None:
    reply = engine.ask(word)
    assert reply.status is Status.CLARIFY
    offered = {s.entry_id for s in reply.suggestions}
    assert {"what-dose", "starting-dose"} <= offered


@pytest.mark.parametrize("word", ["titration", "nausea", "crps", "ldn"])
def test_one_word_that_names_one_entry_is_answered(engine: Engine, word: str) -> None:
    assert engine.ask(word).status is Status.ANSWER


@pytest.mark.parametrize(
    "question",
    [
        "how often should I water my plants",
        "what should I expect at a job interview",
        "how long should I boil an egg",
        "can I start my car in cold weather",
        "what time does the post office open",
        "should I take an umbrella today",
    ],
)
def test_overlap_made_only_of_everyday_words_is_not_answered(engine: Engine, question: str) -> None:
    assert engine.ask(question).status is not Status.ANSWER


@pytest.mark.parametrize("question", ["we have been around a year", "i keep mixing them up"])
def test_a_phrasing_matched_only_through_everyday_words_does_not_answer(
    engine: Engine, question: str
) -> None:
    # Words of an entry's phrasings ("how long has it been around", "I keep mixing them up")
    # but none of its topic words or keywords: close enough to score, never enough to answer.
    ranked = engine.matcher.rank(engine.normalise(question))
    assert ranked[0].score >= engine.thresholds.answer and not ranked[0].on_topic
    assert engine.ask(question).status is not Status.ANSWER


@pytest.mark.parametrize(
    "question",
    [
        "what are the side effects of caffeine",
        "do dogs dream",
        "what are the benefits of pilates",
        "is there any evidence for homeopathy",
        "what are the risks of skydiving",
        "does coffee upset your stomach",
        "how do i increase my pension",
    ],
)
def test_a_question_about_something_else_that_shares_a_topic_word_is_not_answered(
    engine: Engine, question: str
) -> None:
    # It names neither the medicine nor the service, and a word of it ("caffeine") is one no
    # entry knows: that word is its subject, whatever topic word it shares with an entry.
    ranked = engine.matcher.rank(engine.normalise(question))
    assert ranked and ranked[0].on_topic and ranked[0].score >= engine.thresholds.answer
    assert engine.ask(question).status is not Status.ANSWER


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("what are the side effects of ldn", "side-effects"),
        ("does ldn help fibromyalgia in winter", "fibromyalgia"),
        ("does it give you vivid dreams", "sleep-problems"),
        ("nausea", "stomach-upset"),
    ],
)
def test_a_question_that_names_the_medicine_or_only_known_words_is_still_answered(
    engine: Engine, question: str, entry_id: str
) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.ANSWER, entry_id)


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("how do you titrait ldn", "titration"),
        ("ldn and vivid dreems", "sleep-problems"),
        ("is dizzyness a side efect", "headache-dizziness"),
        ("does ldn cause insomina", "sleep-problems"),
        ("does ldn help rhuematoid arthritis", "rheumatoid-arthritis"),
    ],
)
def test_misspelt_topic_words_are_matched(engine: Engine, question: str, entry_id: str) -> None:
    reply = engine.ask(question)
    assert (reply.status, reply.entry_id) == (Status.ANSWER, entry_id)


def test_a_treatment_history_is_no_question_about_other_medicines(engine: Engine) -> None:
    """A treatment history ("tried Lyrica and Cymbalta") asks about LDN for the condition; "can
    I take it with sertraline?" still gets the other-medicines gap."""
    history = engine.ask("tried lyrica and cymbalta for my fibro, nothing helped. could ldn help?")
    assert history.entry_id != "gap-other-medicines"
    together = engine.ask("I tried sertraline before, can I take LDN with it?")
    assert together.entry_id == "gap-other-medicines"
