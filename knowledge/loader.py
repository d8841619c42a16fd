"""Loads the YAML knowledge base into frozen typed objects, validating as it goes.

Every problem raises `ValidationError` naming the file, the entry and the field, so clinic staff
editing the YAML see exactly what to fix (`ldn-bot check`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.clinic import PLACEHOLDERS
from knowledge.errors import ValidationError
from knowledge.model import Category, Entry, Gap, SafetyGrammar, SafetyRule, Source
from knowledge.normalize import Lexicon

DEFAULT_PATH = Path(__file__).parent / "data"
FILES = ("sources.yaml", "entries.yaml", "safety.yaml", "gaps.yaml", "lexicon.yaml")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SOURCE_KINDS = frozenset({"slide", "study", "review", "label", "web"})
MAX_ANSWER = 1200


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    path: Path
    sources: Mapping[str, Source]
    categories: tuple[Category, ...]
    entries: tuple[Entry, ...]
    safety_rules: tuple[SafetyRule, ...]
    safety_grammar: SafetyGrammar
    fuzzy_names: Mapping[str, tuple[str, ...]]
    gaps: tuple[Gap, ...]
    lexicon: Lexicon

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


class _File:
    """One YAML file and the context for its error messages."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValidationError(str(path), None, None, "file not found") from None
        except OSError as exc:
            raise ValidationError(str(path), None, None, f"cannot read: {exc.strerror}") from None
        try:
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ValidationError(self.name, None, None, f"not valid YAML{where}") from None

    def fail(self, entry: str | None, field: str | None, problem: str) -> ValidationError:
        return ValidationError(self.name, entry, field, problem)

    def top(self, key: str, kind: type) -> Any:
        if not isinstance(self.data, dict) or key not in self.data:
            raise self.fail(None, key, "missing top-level key")
        value = self.data[key]
        if not isinstance(value, kind):
            raise self.fail(None, key, f"must be a {kind.__name__}")
        return value

    def items(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """The list under `key` as (id, mapping) pairs, checking ids are well-formed and unique."""
        out: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for position, item in enumerate(self.top(key, list), start=1):
            label = f"#{position}"
            if not isinstance(item, dict):
                raise self.fail(label, None, "must be a mapping")
            item_id = item.get("id")
            if not isinstance(item_id, str) or not _ID.match(item_id):
                raise self.fail(label, "id", "must be lower-case letters, digits, '-', <= 40 chars")
            if item_id in seen:
                raise self.fail(item_id, "id", "duplicate id")
            seen.add(item_id)
            out.append((item_id, item))
        return out

    def text(
        self, entry: str, item: Mapping[str, Any], field: str, *, optional: bool = False
    ) -> str:
        value = item.get(field)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entry, field, "must be a non-empty string")
        return " ".join(value.split())

    def strings(
        self, entry: str, item: Mapping[str, Any], field: str, *, optional: bool = False
    ) -> tuple[str, ...]:
        value = item.get(field)
        if value is None and optional:
            return ()
        if isinstance(value, list) and any(isinstance(v, bool) for v in value):
            raise self.fail(
                entry, field, "put yes/no/on/off in quotes: YAML reads them as true/false"
            )
        if (
            not isinstance(value, list)
            or (not value and not optional)
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(entry, field, "must be a list of non-empty strings")
        return tuple(" ".join(v.split()) for v in value)

    def patterns(self, entry: str, item: Mapping[str, Any], field: str) -> tuple[str, ...]:
        raw = self.strings(entry, item, field, optional=True)
        for pattern in raw:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(
                    entry, field, f"bad regular expression {pattern!r}: {exc}"
                ) from None
        return raw


def _template(file: _File, entry: str, field: str, value: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    unknown = names - PLACEHOLDERS
    if unknown:
        raise file.fail(entry, field, f"unknown placeholder {{{sorted(unknown)[0]}}}")
    return value


def _source_refs(
    file: _File, entry: str, item: Mapping[str, Any], sources: Mapping[str, Source], required: bool
) -> tuple[Source, ...]:
    ids = file.strings(entry, item, "sources", optional=not required)
    missing = [i for i in ids if i not in sources]
    if missing:
        raise file.fail(entry, "sources", f"unknown source {missing[0]!r}")
    return tuple(sources[i] for i in ids)


def _load_sources(path: Path) -> dict[str, Source]:
    f = _File(path / "sources.yaml")
    out: dict[str, Source] = {}
    for sid, item in f.items("sources"):
        kind = f.text(sid, item, "kind")
        if kind not in SOURCE_KINDS:
            raise f.fail(sid, "kind", f"must be one of {', '.join(sorted(SOURCE_KINDS))}")
        if kind == "slide" and not item.get("slide"):
            raise f.fail(sid, "slide", "a slide source needs the slide's title")
        year = item.get("year")
        if year is not None and not isinstance(year, int):
            raise f.fail(sid, "year", "must be a whole number or null")
        pmid = item.get("pmid")
        if pmid is not None and not isinstance(pmid, int):
            raise f.fail(sid, "pmid", "must be a whole number or null")
        opt = {
            k: (str(item[k]) if item.get(k) is not None else None)
            for k in ("slide", "authors", "title", "journal", "volume_pages", "doi", "url")
        }
        out[sid] = Source(
            id=sid, kind=kind, label=f.text(sid, item, "label"), year=year, pmid=pmid, **opt
        )
    return out


def _load_entries(
    path: Path, sources: Mapping[str, Source]
) -> tuple[tuple[Category, ...], tuple[Entry, ...]]:
    f = _File(path / "entries.yaml")
    categories = tuple(Category(cid, f.text(cid, c, "title")) for cid, c in f.items("categories"))
    category_ids = {c.id for c in categories}
    pairs = f.items("entries")
    entry_ids = {eid for eid, _ in pairs}
    entries = []
    for eid, item in pairs:
        category = f.text(eid, item, "category")
        if category not in category_ids:
            raise f.fail(eid, "category", f"unknown category {category!r}")
        topic = f.text(eid, item, "topic")
        if len(topic) > 48:
            raise f.fail(eid, "topic", "must be at most 48 characters (it is a button label)")
        answer = f.text(eid, item, "answer")
        if len(answer) > MAX_ANSWER:
            raise f.fail(eid, "answer", f"must be at most {MAX_ANSWER} characters")
        related = f.strings(eid, item, "related", optional=True)
        unknown = [r for r in related if r not in entry_ids]
        if unknown:
            raise f.fail(eid, "related", f"unknown entry {unknown[0]!r}")
        entries.append(
            Entry(
                id=eid,
                category=category,
                topic=topic,
                questions=f.strings(eid, item, "questions"),
                answer=answer,
                sources=_source_refs(f, eid, item, sources, required=True),
                keywords=f.strings(eid, item, "keywords", optional=True),
                related=related,
            )
        )
    return categories, tuple(entries)


def _load_safety(
    path: Path, sources: Mapping[str, Source]
) -> tuple[tuple[SafetyRule, ...], SafetyGrammar, dict[str, tuple[str, ...]]]:
    f = _File(path / "safety.yaml")
    data = f.data if isinstance(f.data, dict) else {}
    top = "(top level)"
    cues = f.text(top, data, "cues")
    extra = {
        k: f.text(top, data, k)
        for k in (
            "first_person",
            "general_before",
            "general_after",
            "general_question",
            "over",
            "hypothetical",
            "others",
            "carer",
            "general_any",
            "use_question",
            "denied",
            "curious",
            "generic_subject",
            "asked_about",
            "supposition",
            "owned",
            "procedure_done",
            "pain_relief",
            "refused",
            "about_ldn",
            "own_use",
            "work",
            "reported",
        )
    }
    for key, pattern in (("cues", cues), *extra.items()):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise f.fail(None, key, f"bad regular expression: {exc}") from None
    grammar = SafetyGrammar(
        negators=frozenset(f.strings(top, data, "negators")),
        negation_bridge=frozenset(f.strings(top, data, "negation_bridge")),
        negation_after=frozenset(f.strings(top, data, "negation_after", optional=True)),
        distant_past=f.patterns(top, data, "distant_past"),
        recent=f.patterns(top, data, "recent"),
        resumed=f.patterns(top, data, "resumed"),
        lookalike_cancel=f.patterns(top, data, "lookalike_cancel"),
        idioms=f.patterns(top, data, "idioms"),
        negated_states=f.patterns(top, data, "negated_states"),
        cues=cues,
        **extra,
    )
    rules = []
    fuzzy: dict[str, tuple[str, ...]] = {}
    for rid, item in f.items("rules"):
        terms = f.patterns(rid, item, "terms")
        cued = f.patterns(rid, item, "cued_terms")
        if not terms and not cued:
            raise f.fail(rid, "terms", "a rule needs terms or cued_terms")
        fuzzy[rid] = f.strings(rid, item, "fuzzy_names", optional=True)
        rules.append(
            SafetyRule(
                id=rid,
                title=f.text(rid, item, "title"),
                terms=terms,
                context_terms=cued,
                negatable=_flag(f, rid, item, "negatable"),
                past_exempt=_flag(f, rid, item, "past_exempt"),
                template=_template(f, rid, "template", f.text(rid, item, "template")),
                sources=_source_refs(f, rid, item, sources, required=True),
                hints=f.patterns(rid, item, "hints"),
                deniable=_flag(f, rid, item, "deniable", default=False),
            )
        )
    return tuple(rules), grammar, fuzzy


def _flag(
    f: _File, rid: str, item: Mapping[str, object], key: str, *, default: bool | None = None
) -> bool:
    """A true/false field; required unless it has a default."""
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise f.fail(rid, key, "must be true or false")
    return value


def _load_gaps(path: Path, sources: Mapping[str, Source]) -> tuple[Gap, ...]:
    f = _File(path / "gaps.yaml")
    gaps = []
    for gid, item in f.items("gaps"):
        patterns = f.patterns(gid, item, "patterns")
        if not patterns:
            raise f.fail(gid, "patterns", "a gap needs at least one pattern")
        gaps.append(
            Gap(
                id=gid,
                topic=f.text(gid, item, "topic"),
                patterns=patterns,
                unless=f.patterns(gid, item, "unless"),
                message=_template(f, gid, "message", f.text(gid, item, "message")),
                sources=_source_refs(f, gid, item, sources, required=False),
            )
        )
    return tuple(gaps)


def _load_lexicon(path: Path) -> Lexicon:
    f = _File(path / "lexicon.yaml")
    top = "(top level)"
    maps: dict[str, dict[str, str]] = {}
    for key in ("phrases", "spelling"):
        value = f.top(key, dict)
        for k, v in value.items():
            if isinstance(k, bool) or isinstance(v, bool):
                raise f.fail(
                    str(k), key, "put yes/no/on/off in quotes: YAML reads them as true/false"
                )
            if not isinstance(k, str) or not isinstance(v, str) or k != k.lower():
                raise f.fail(str(k), key, "keys and values must be lower-case strings")
        maps[key] = value
    anchors = f.strings(top, f.data, "anchors", optional=True)
    for word in anchors:
        # Anchors are looked up among the normalised question's words: one lower-case word.
        if word != word.lower() or len(word.split()) != 1:
            raise f.fail(word, "anchors", "each anchor must be one lower-case word")
    return Lexicon(
        phrases=maps["phrases"],
        spelling=maps["spelling"],
        stopwords=frozenset(f.strings(top, f.data, "stopwords")),
        anchors=frozenset(anchors),
    )


def load(path: Path | str | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base in `path` (default: the packaged data)."""
    root = Path(path) if path is not None else DEFAULT_PATH
    if not root.is_dir():
        raise ValidationError(str(root), None, None, "knowledge path is not a directory")
    sources = _load_sources(root)
    categories, entries = _load_entries(root, sources)
    rules, grammar, fuzzy = _load_safety(root, sources)
    gaps = _load_gaps(root, sources)
    return KnowledgeBase(
        path=root,
        sources=sources,
        categories=categories,
        entries=entries,
        safety_rules=rules,
        safety_grammar=grammar,
        fuzzy_names=fuzzy,
        gaps=gaps,
        lexicon=_load_lexicon(root),
    )
