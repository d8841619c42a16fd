"""Telegram's machine-readable Bot API spec and the checks the fake server runs with it.

The spec (``bot-api-10.1.min.json``, keys ``methods`` and ``types``) is read at runtime from the
shared directory and never copied into the project. Every field has ``name``, ``types`` (e.g.
``"Integer"``, ``"Array of MessageEntity"``), ``required`` and ``description``; the limits and
allowed values checked here are derived from those descriptions (``1-64 bytes``,
``0-200 characters``, ``must be one of ...``, ``Exactly one of the fields other than ...``).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .formatting import PARSE_MODES, EntityParseError, parse_entities, trim_text

__all__ = [
    "SPEC_FILENAME",
    "BotApiSpec",
    "FieldSpec",
    "ObjectSpec",
    "Problem",
    "UploadedFile",
    "default_spec_path",
    "guess_decode",
    "load_spec",
]

SPEC_FILENAME = "bot-api-10.1.min.json"
_PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_ARRAY = "Array of "


def default_spec_path() -> Path:
    """Where the spec lives: ``$LDN_SHARED_DIR/telegram/...`` or ``<project>/../shared/...``."""
    shared = os.environ.get("LDN_SHARED_DIR")
    if shared:
        return Path(shared) / "telegram" / SPEC_FILENAME
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "telegram" / SPEC_FILENAME


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class ObjectSpec:
    """A Bot API method or type."""

    name: str
    fields: Mapping[str, FieldSpec]
    description: str = ""
    subtypes: tuple[str, ...] = ()
    returns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a call. ``path`` locates the value (``reply_markup.inline_keyboard
    [0][0].callback_data``); ``description`` is what Telegram would answer, when known."""

    path: str
    message: str
    description: str | None = None

    def telegram_description(self) -> str:
        if self.description:
            return self.description
        where = f"{self.path}: " if self.path else ""
        return f"Bad Request: {where}{self.message}"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart/form-data request."""

    filename: str
    content_type: str
    body: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.body)


class BotApiSpec:
    """The methods and types of the Bot API, with case-insensitive method lookup."""

    def __init__(self, data: Mapping[str, Any], path: Path | None = None) -> None:
        self.path = path
        self.version: str = str(data.get("version", "unknown"))
        self.methods: dict[str, ObjectSpec] = {
            name: _object_spec(raw) for name, raw in data["methods"].items()
        }
        self.types: dict[str, ObjectSpec] = {
            name: _object_spec(raw) for name, raw in data["types"].items()
        }
        self._methods_lower = {name.lower(): spec for name, spec in self.methods.items()}
        self._rules: dict[tuple[str, str], _FieldRules] = {}

    @classmethod
    def load(cls, path: Path) -> BotApiSpec:
        with path.open(encoding="utf-8") as fh:
            return cls(json.load(fh), path)

    def method(self, name: str) -> ObjectSpec | None:
        """The method called ``name``, matched case-insensitively like Telegram does."""
        return self._methods_lower.get(name.lower())

    def validate_call(
        self,
        method: ObjectSpec,
        raw: Mapping[str, Any],
        *,
        attachments: frozenset[str] = frozenset(),
    ) -> tuple[dict[str, Any], list[Problem]]:
        """Decode the parameters of one call and check them against ``method``.

        String values (form fields, query arguments, or strings in a JSON body) are decoded
        according to the field's spec types: numbers and booleans parsed, objects and arrays
        JSON-decoded. Returns ``(decoded_params, problems)``.
        """
        checker = _Checker(self, attachments)
        decoded: dict[str, Any] = {}
        problems: list[Problem] = []
        skip: set[str] = set()
        for key, value in raw.items():
            spec_field = method.fields.get(key)
            if spec_field is None or not isinstance(value, str):
                decoded[key] = guess_decode(value) if spec_field is None else value
                continue
            value_out, problem = checker.decode(value, spec_field.types, key)
            decoded[key] = value_out
            if problem is not None:
                problems.append(problem)
                skip.add(key)
        problems.extend(checker.check_fields(method, decoded, "", skip=skip))
        return decoded, problems

    def check_object(self, value: Any, type_name: str, path: str = "") -> list[Problem]:
        """Check an already-decoded value (e.g. an Update a test pushes) against a type."""
        return _Checker(self, frozenset()).check_value(value, (type_name,), path)

    def rules(self, owner: ObjectSpec, spec_field: FieldSpec) -> _FieldRules:
        key = (owner.name, spec_field.name)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = _FieldRules.derive(owner, spec_field)
        return rules

    @cached_property
    def discriminators(self) -> dict[str, tuple[str, str]]:
        """For each subtype of an abstract type: (field name, literal value) identifying it."""
        found: dict[str, tuple[str, str]] = {}
        concrete = {name for spec in self.types.values() for name in spec.subtypes}
        for name in concrete:
            spec = self.types.get(name)
            for spec_field in spec.fields.values() if spec else ():
                literal = _literal_value(spec_field.description)
                if literal is not None and spec_field.required:
                    found[name] = (spec_field.name, literal)
                    break
        return found


_LOADED: dict[tuple[Path, int, int], BotApiSpec] = {}


def load_spec(path: Path | str | None = None) -> tuple[BotApiSpec | None, str | None]:
    """Load the spec; returns ``(spec, None)`` or ``(None, skip_reason)`` if it is unusable.
    A parsed spec is reused while the file is unchanged (servers only read it)."""
    spec_path = Path(path) if path is not None else default_spec_path()
    if not spec_path.is_file():
        return None, f"Bot API spec not found at {spec_path}: call validation skipped"
    try:
        stat = spec_path.stat()
        key = (spec_path.resolve(), stat.st_mtime_ns, stat.st_size)
        if key not in _LOADED:
            _LOADED[key] = BotApiSpec.load(spec_path)
        return _LOADED[key], None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"Bot API spec at {spec_path} unreadable ({exc!r}): call validation skipped"


def guess_decode(value: Any) -> Any:
    """Decode a form value without spec information (JSON objects/arrays, ints, booleans)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return value
    if re.fullmatch(r"-?\d{1,18}", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    return value


def _object_spec(raw: Mapping[str, Any]) -> ObjectSpec:
    fields = {
        f["name"]: FieldSpec(
            name=f["name"],
            types=tuple(f.get("types", ())),
            required=bool(f.get("required", False)),
            description=str(f.get("description", "")),
        )
        for f in raw.get("fields", ())
    }
    description = raw.get("description", "")
    if isinstance(description, list):
        description = " ".join(description)
    return ObjectSpec(
        name=raw["name"],
        fields=fields,
        description=str(description),
        subtypes=tuple(raw.get("subtypes", ())),
        returns=tuple(raw.get("returns", ())),
    )


def _literal_value(description: str) -> str | None:
    match = re.search(r'(?:always|must be) "?([a-z][a-z0-9_]*)"?\s*$', description)
    return match.group(1) if match else None


def _quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


@dataclass(frozen=True)
class _FieldRules:
    """Constraints on one field, read from its description."""

    min_len: int | None = None
    max_len: int | None = None
    in_bytes: bool = False
    after_entities: bool = False
    min_items: int | None = None
    max_items: int | None = None
    allowed: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    pattern_text: str = ""
    chat_username: bool = False
    is_parse_mode: bool = False

    @classmethod
    def derive(cls, owner: ObjectSpec, spec_field: FieldSpec) -> _FieldRules:
        desc = spec_field.description
        types = spec_field.types
        values: dict[str, Any] = {}
        if "String" in types:
            length = re.search(r"(\d+)-(\d+) (characters|bytes)\b", desc, re.IGNORECASE)
            if length:
                values["min_len"] = int(length.group(1))
                values["max_len"] = int(length.group(2))
                values["in_bytes"] = length.group(3).lower() == "bytes"
                values["after_entities"] = bool(
                    re.search(r"after entit(?:y|ies) parsing", desc)
                    or (spec_field.name == "message_text" and "parse_mode" in owner.fields)
                )
            one_of = re.search(r"[Mm]ust be one of (.*)", desc)
            literal = _literal_value(desc)
            if one_of and _quoted(one_of.group(1)):
                values["allowed"] = frozenset(_quoted(one_of.group(1)))
            elif (
                literal is not None
                and spec_field.required
                and spec_field.name in ("type", "status", "source")
            ):
                values["allowed"] = frozenset({literal})
            elif owner.name == "MessageEntity" and spec_field.name == "type":
                values["allowed"] = frozenset(re.findall(r'"([a-z_]+)" \(', desc))
            elif owner.name == "sendChatAction" and spec_field.name == "action":
                listed = desc.split(":", 1)[-1]
                values["allowed"] = frozenset(
                    re.findall(r"\b([a-z]+(?:_[a-z]+)*) (?:for|or)\b", listed)
                )
            if "lowercase English letters, digits and underscores" in desc:
                values["pattern"] = re.compile(r"[a-z0-9_]*")
                values["pattern_text"] = "only lowercase English letters, digits and underscores"
            elif re.search(r"[Oo]nly (?:characters )?A-Z, a-z, 0-9, _ and - are allowed", desc):
                values["pattern"] = re.compile(r"[A-Za-z0-9_-]*")
                values["pattern_text"] = "only A-Z, a-z, 0-9, _ and -"
            if "Integer" in types and "format @" in desc:
                values["chat_username"] = True
            if spec_field.name == "parse_mode" or spec_field.name.endswith("_parse_mode"):
                values["is_parse_mode"] = True
        if any(t.startswith(_ARRAY) for t in types):
            items = re.search(r"(?:[Ll]ist of|must include) (\d+)-(\d+)\b", desc)
            at_most = re.search(r"At most (\d+) \w+ can be specified", desc)
            if items:
                values["min_items"] = int(items.group(1))
                values["max_items"] = int(items.group(2))
            elif at_most:
                values["max_items"] = int(at_most.group(1))
        return cls(**values)


def _describe(value: Any) -> str:
    if isinstance(value, UploadedFile):
        return f"an uploaded file {value.filename!r}"
    kind = {
        bool: "Boolean",
        int: "Integer",
        float: "Float",
        str: "String",
        list: "Array",
        dict: "Object",
        type(None): "null",
    }.get(type(value), type(value).__name__)
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{kind} {shown}"


_JSON_DESCRIPTIONS = {
    "reply_markup": "Bad Request: can't parse reply keyboard markup JSON object",
    "entities": "Bad Request: can't parse entities JSON object",
    "caption_entities": "Bad Request: can't parse entities JSON object",
}


class _Checker:
    """Checks the values of one call (knows the names of its uploaded attachments)."""

    def __init__(self, spec: BotApiSpec, attachments: frozenset[str]) -> None:
        self.spec = spec
        self.attachments = attachments

    # -- decoding form values -------------------------------------------------------------
    def decode(self, raw: str, types: tuple[str, ...], path: str) -> tuple[Any, Problem | None]:
        """Turn a form string into the value its spec types call for."""
        candidates: list[Any] = []
        json_error: str | None = None
        for type_name in sorted(types, key=lambda t: t in ("String", "InputFile")):
            if type_name in ("String", "InputFile"):
                candidates.append(raw)
            elif type_name == "Integer":
                if re.fullmatch(r"\s*[+-]?\d+\s*", raw):
                    candidates.append(int(raw))
            elif type_name == "Float":
                try:
                    number = float(raw)
                except ValueError:
                    continue
                if math.isfinite(number):
                    is_int = re.fullmatch(r"\s*[+-]?\d+\s*", raw) is not None
                    candidates.append(int(raw) if is_int else number)
            elif type_name == "Boolean":
                if raw.strip().lower() in ("true", "false", "1", "0"):
                    candidates.append(raw.strip().lower() in ("true", "1"))
            else:
                try:
                    candidates.append(json.loads(raw))
                except ValueError as exc:
                    json_error = str(exc)
        best: tuple[int, Any] | None = None
        for candidate in candidates:
            count = len(self.check_value(candidate, types, path))
            if count == 0:
                return candidate, None
            if best is None or count < best[0]:
                best = (count, candidate)
        if best is not None:
            return best[1], None
        if json_error is not None:
            return raw, Problem(
                path,
                f"expected a JSON-serialized {' or '.join(types)}, got invalid JSON "
                f"({json_error}): {raw[:60]!r}",
                _JSON_DESCRIPTIONS.get(path),
            )
        return raw, None

    # -- checking decoded values ----------------------------------------------------------
    def check_value(self, value: Any, types: tuple[str, ...], path: str) -> list[Problem]:
        """Problems of ``value`` against the union ``types`` (empty list if any matches)."""
        best: list[Problem] | None = None
        for type_name in types:
            problems = self._check_type(value, type_name, path)
            if not problems:
                best = []
                break
            if best is None or len(problems) < len(best):
                best = problems
        problems = best or []
        if (
            not problems
            and isinstance(value, str)
            and value.startswith("attach://")
            and value.removeprefix("attach://") not in self.attachments
        ):
            problems = [Problem(path, f"{value!r} refers to no uploaded file part")]
        return problems

    def _check_type(self, value: Any, type_name: str, path: str) -> list[Problem]:
        if type_name.startswith(_ARRAY):
            if not isinstance(value, list):
                return [Problem(path, f"expected {type_name}, got {_describe(value)}")]
            item_type = type_name[len(_ARRAY) :]
            problems: list[Problem] = []
            for index, item in enumerate(value):
                problems.extend(self.check_value(item, (item_type,), f"{path}[{index}]"))
            return problems
        ok = True
        if type_name == "Integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif type_name == "Boolean":
            ok = isinstance(value, bool)
        elif type_name == "String":
            ok = isinstance(value, str)
        elif type_name == "InputFile":
            ok = isinstance(value, UploadedFile) or (
                isinstance(value, str) and value.startswith("attach://")
            )
        else:
            return self._check_object(value, type_name, path)
        if ok:
            return []
        return [Problem(path, f"expected {type_name}, got {_describe(value)}")]

    def _check_object(self, value: Any, type_name: str, path: str) -> list[Problem]:
        spec = self.spec.types.get(type_name)
        if spec is None:
            return []  # a type the spec does not describe: nothing to check against
        if isinstance(value, str) and "String can be used instead of this object" in (
            spec.description
        ):
            return []
        if not isinstance(value, dict):
            return [Problem(path, f"expected {type_name} object, got {_describe(value)}")]
        if spec.subtypes:
            return self._check_abstract(value, spec, path)
        if not spec.fields:
            return []  # a placeholder type ("currently holds no information")
        return self.check_fields(spec, value, path)

    def _check_abstract(self, value: dict[str, Any], spec: ObjectSpec, path: str) -> list[Problem]:
        discriminators = self.spec.discriminators
        candidates = list(spec.subtypes)
        keyed = [name for name in candidates if name in discriminators]
        if keyed:
            key = discriminators[keyed[0]][0]
            matching = [name for name in keyed if discriminators[name][1] == value.get(key)]
            if not matching:
                allowed = sorted({discriminators[name][1] for name in keyed})
                return [
                    Problem(
                        _join(path, key),
                        f"{spec.name} needs {key} one of {allowed}, got "
                        f"{_describe(value.get(key))}",
                    )
                ]
            candidates = matching
        best: list[Problem] | None = None
        for name in candidates:
            problems = self._check_object(value, name, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def check_fields(
        self,
        owner: ObjectSpec,
        values: Mapping[str, Any],
        path: str,
        *,
        skip: set[str] | frozenset[str] = frozenset(),
    ) -> list[Problem]:
        """Check the fields of an object (or the parameters of a method) against ``owner``."""
        problems: list[Problem] = []
        kind = "parameter" if owner.name[:1].islower() else "field"
        for key, value in values.items():
            spec_field = owner.fields.get(key)
            where = _join(path, key)
            if spec_field is None:
                problems.append(
                    Problem(
                        where,
                        f"unknown {kind} {key!r} for {owner.name} (Telegram ignores unknown "
                        "parameters silently, so this is almost certainly a bug)",
                    )
                )
                continue
            if key in skip:
                continue
            type_problems = self.check_value(value, spec_field.types, where)
            if type_problems:
                problems.extend(type_problems)
                continue
            problems.extend(self._check_rules(owner, spec_field, value, values, where))
        problems.extend(self._check_required(owner, values, path, kind))
        problems.extend(self._check_exclusive(owner, values, path))
        return problems

    def _check_required(
        self, owner: ObjectSpec, values: Mapping[str, Any], path: str, kind: str
    ) -> list[Problem]:
        problems: list[Problem] = []
        present = {key for key, value in values.items() if value is not None}
        for spec_field in owner.fields.values():
            if spec_field.name in present:
                continue
            needed = spec_field.required
            reason = ""
            desc = spec_field.description
            both = re.match(r"Required if (\w+) and (\w+) are not specified", desc)
            single = re.search(r"[Rr]equired if (\w+) (?:is not|isn't) specified", desc)
            if both and not ({both.group(1), both.group(2)} <= present):
                needed, reason = True, f" (since {both.group(1)}/{both.group(2)} are not given)"
            elif single and single.group(1) in owner.fields and single.group(1) not in present:
                needed, reason = True, f" (since {single.group(1)} is not given)"
            if needed:
                problems.append(
                    Problem(
                        _join(path, spec_field.name),
                        f"required {kind} {spec_field.name!r} of {owner.name} is missing{reason}",
                        f"Bad Request: {spec_field.name} is empty"
                        if spec_field.name != "text"
                        else "Bad Request: message text is empty",
                    )
                )
        return problems

    def _check_exclusive(
        self, owner: ObjectSpec, values: Mapping[str, Any], path: str
    ) -> list[Problem]:
        rule = re.search(
            r"(Exactly|At most) one of the fields other than (.+?) must be used", owner.description
        )
        if not rule:
            return []
        excluded = {word for word in re.findall(r"[a-z_]+", rule.group(2)) if word != "and"}
        used = [
            key
            for key, spec_field in owner.fields.items()
            if key not in excluded and not spec_field.required and values.get(key) is not None
        ]
        options = [k for k, f in owner.fields.items() if k not in excluded and not f.required]
        if len(used) > 1:
            return [
                Problem(
                    path,
                    f"{owner.name} must use {rule.group(1).lower()} one of {options}, got {used}",
                )
            ]
        if not used and rule.group(1) == "Exactly":
            description = None
            if owner.name == "InlineKeyboardButton":
                description = (
                    "Bad Request: can't parse inline keyboard button: Text buttons are "
                    "unallowed in the inline keyboard"
                )
            return [Problem(path, f"{owner.name} must use exactly one of {options}", description)]
        return []

    def _check_rules(
        self,
        owner: ObjectSpec,
        spec_field: FieldSpec,
        value: Any,
        siblings: Mapping[str, Any],
        where: str,
    ) -> list[Problem]:
        rules = self.spec.rules(owner, spec_field)
        problems: list[Problem] = []
        if isinstance(value, str):
            if rules.is_parse_mode and value.lower() not in PARSE_MODES:
                problems.append(
                    Problem(
                        where,
                        f"unsupported parse mode {value!r} (use HTML, MarkdownV2 or Markdown)",
                        "Bad Request: unsupported parse_mode",
                    )
                )
            if rules.allowed is not None and value not in rules.allowed:
                problems.append(Problem(where, f"{value!r} is not one of {sorted(rules.allowed)}"))
            if rules.pattern is not None and not rules.pattern.fullmatch(value):
                problems.append(
                    Problem(where, f"{value!r} may contain {rules.pattern_text}", _token(owner))
                )
            if rules.chat_username and not value.startswith("@"):
                problems.append(
                    Problem(
                        where,
                        f"{value!r} is neither an integer chat id nor an @username",
                        "Bad Request: chat not found",
                    )
                )
            if rules.max_len is not None:
                problems.extend(self._check_length(owner, spec_field, value, siblings, where))
        if isinstance(value, list) and (rules.min_items is not None or rules.max_items is not None):
            low = rules.min_items or 0
            high = rules.max_items if rules.max_items is not None else len(value)
            if not low <= len(value) <= high:
                problems.append(Problem(where, f"{len(value)} items, must be {low}-{high}"))
        return problems

    def _check_length(
        self,
        owner: ObjectSpec,
        spec_field: FieldSpec,
        value: str,
        siblings: Mapping[str, Any],
        where: str,
    ) -> list[Problem]:
        rules = self.spec.rules(owner, spec_field)
        assert rules.max_len is not None
        low = rules.min_len or 0
        text = value
        unit = "bytes" if rules.in_bytes else "characters"
        if rules.after_entities:
            mode_field = f"{spec_field.name}_parse_mode"
            if mode_field not in owner.fields and spec_field.name in ("text", "caption"):
                mode_field = "parse_mode"
            if spec_field.name == "message_text":
                mode_field = "parse_mode"
            mode = siblings.get(mode_field)
            if isinstance(mode, str) and mode.lower() in PARSE_MODES:
                try:
                    text, _ = parse_entities(value, mode)
                except EntityParseError as exc:
                    return [
                        Problem(
                            where, f"can't parse entities: {exc.detail}", exc.telegram_description
                        )
                    ]
            text, _ = trim_text(text, [])
            unit += " after entity parsing"
        size = len(text.encode("utf-8")) if rules.in_bytes else len(text)
        if low <= size <= rules.max_len:
            return []
        message = f"{size} {unit}, must be {low}-{rules.max_len}"
        description: str | None = None
        name = spec_field.name
        if name in ("text", "message_text") and rules.after_entities:
            description = (
                "Bad Request: message text is empty"
                if size < low
                else "Bad Request: message is too long"
            )
        elif name == "caption":
            description = "Bad Request: message caption is too long"
        elif owner.name == "answerCallbackQuery" and name == "text":
            description = "Bad Request: MESSAGE_TOO_LONG"
        elif owner.name == "InlineKeyboardButton" and name == "callback_data":
            description = "Bad Request: BUTTON_DATA_INVALID"
        elif owner.name == "BotCommand":
            description = _token(owner)
        return [Problem(where, message, description)]


def _token(owner: ObjectSpec) -> str | None:
    if owner.name == "BotCommand":
        return "Bad Request: BOT_COMMAND_INVALID"
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
