"""Telegram text formatting: the parse modes a bot can use (HTML, MarkdownV2, Markdown).

The parsers follow what Telegram's server (tdlib) does closely enough to reject the same
malformed input, with the same error texts (``can't parse entities: ...``), and to return the
plain text plus the entities Telegram would produce. Offsets and lengths of entities are in
UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PARSE_MODES",
    "EntityParseError",
    "parse_entities",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "trim_text",
    "utf16_len",
]

#: Accepted ``parse_mode`` values, lower-cased (Telegram compares them case-insensitively).
PARSE_MODES = ("html", "markdownv2", "markdown")

_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "blockquote",
    }
)

_TAG_TO_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
    "blockquote": "blockquote",
}

_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ValueError):
    """Raised for text Telegram refuses with ``Bad Request: can't parse entities: ...``.

    ``telegram_description`` is the full description Telegram would answer with.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def telegram_description(self) -> str:
        return f"Bad Request: can't parse entities: {self.detail}"


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit of entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


@dataclass
class _Builder:
    """Accumulates the parsed plain text and keeps track of its UTF-16 length."""

    parts: list[str] = field(default_factory=list)
    length16: int = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.length16 += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _Open:
    tag: str
    offset16: int
    byte_offset: int
    argument: str = ""
    language: str = ""
    expandable: bool = False
    unix: str = ""
    time_format: str = ""
    text_start: int = 0  # index into _Builder.parts, to recover the text of a link


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int, str | None]:
    """Decode the character reference starting at ``text[pos] == '&'`` as tdlib does.

    Returns ``(char or None, position after the reference, unsupported named reference)``.
    Telegram keeps an unrecognised reference literally; the third value reports a named
    reference terminated by ``;`` (e.g. ``&nbsp;``) so the caller can flag it.
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        base = 10
        if end < n and text[end] in "xX":
            base = 16
            end += 1
        digits_start = end
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        while end < n and text[end] in digits:
            end += 1
        if end == digits_start or end - digits_start > 8:
            return None, pos + 1, None
        code = int(text[digits_start:end], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos + 1, None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED_HTML_ENTITIES:
            if name and end < n and text[end] == ";":
                return None, pos + 1, text[pos : end + 1]
            return None, pos + 1, None
        char = _NAMED_HTML_ENTITIES[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end, None


def _finish_entity(
    entities: list[dict[str, Any]], entity_type: str, start16: int, end16: int, **extra: Any
) -> None:
    if end16 <= start16:
        return  # Telegram drops empty entities
    entity: dict[str, Any] = {"type": entity_type, "offset": start16, "length": end16 - start16}
    entity.update({key: value for key, value in extra.items() if value not in (None, "")})
    entities.append(entity)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-HTML. Returns ``(plain_text, entities)``; raises EntityParseError."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            char, new_i, unsupported = _decode_html_entity(text, i)
            if unsupported is not None:
                raise EntityParseError(
                    f'Unsupported HTML entity "{unsupported}" at byte offset '
                    f"{_byte_offset(text, i)} (Telegram would show it literally; only &lt; "
                    "&gt; &amp; &quot; and numeric character references are supported)"
                )
            if char is None:
                out.add("&")
                i += 1
            else:
                out.add(char)
                i = new_i
            continue
        if c != "<":
            # A run of plain text in one chunk: per-character work made long answers slow.
            stop = min((j for j in (text.find("&", i), text.find("<", i)) if j != -1), default=n)
            out.add(text[i:stop])
            i = stop
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i = _html_end_tag(text, begin, i, stack, entities, out)
        else:
            i = _html_start_tag(text, begin, i, stack, out)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def _html_start_tag(text: str, begin: int, i: int, stack: list[_Open], out: _Builder) -> int:
    n = len(text)
    start = i
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    tag = text[start:i].lower()
    if tag not in _HTML_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    entry = _Open(tag=tag, offset16=out.length16, byte_offset=_byte_offset(text, begin))
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] == ">":
            break
        name_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        attribute = text[name_start:i].lower()
        if not attribute:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            if tag == "blockquote" and attribute == "expandable":
                entry.expandable = True
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at '
                f"byte offset {_byte_offset(text, begin)}"
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] not in "'\"":
            token_start = i
            while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                i += 1
            value = text[token_start:i].lower()
            if i >= n or (not text[i].isspace() and text[i] != ">"):
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                )
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    char, new_i, _ = _decode_html_entity(text, i)
                    if char is not None:
                        chars.append(char)
                        i = new_i
                        continue
                chars.append(text[i])
                i += 1
            if i >= n:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            i += 1
            value = "".join(chars)
        if tag == "a" and attribute == "href":
            entry.argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            entry.language = value[len("language-") :]
        elif (tag, attribute) in (("span", "class"), ("tg-emoji", "emoji-id")):
            entry.argument = value
        elif tag == "tg-time" and attribute == "unix":
            entry.unix = value
        elif tag == "tg-time" and attribute == "format":
            entry.time_format = value
        elif tag == "blockquote" and attribute == "expandable":
            entry.expandable = True
        # Telegram ignores any other attribute.
    if tag == "span" and entry.argument != "tg-spoiler":
        raise EntityParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {entry.byte_offset}'
        )
    if tag == "tg-emoji" and not entry.argument.isdigit():
        raise EntityParseError("Invalid custom emoji identifier specified")
    if tag == "tg-time" and not entry.unix.lstrip("-").isdigit():
        raise EntityParseError(
            f'Tag "tg-time" must have a valid "unix" attribute at byte offset {entry.byte_offset}'
        )
    entry.text_start = len(out.parts)
    stack.append(entry)
    return i + 1


def _html_end_tag(
    text: str,
    begin: int,
    i: int,
    stack: list[_Open],
    entities: list[dict[str, Any]],
    out: _Builder,
) -> int:
    n = len(text)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    i += 1  # skip '/'
    name_start = i
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    end_name = text[name_start:i].lower()
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    entry = stack[-1]
    if end_name and end_name != entry.tag:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "
            f'"</{entry.tag}>", found "</{end_name}>"'
        )
    stack.pop()
    start16, end16 = entry.offset16, out.length16
    entity_type = _TAG_TO_ENTITY[entry.tag]
    if entry.tag == "a":
        url = entry.argument or "".join(out.parts[entry.text_start :])
        if url.startswith("tg://user?id="):
            user_id = url.removeprefix("tg://user?id=")
            if user_id.isdigit():
                _finish_entity(
                    entities,
                    "text_mention",
                    start16,
                    end16,
                    user={"id": int(user_id), "is_bot": False, "first_name": ""},
                )
                return i + 1
        _finish_entity(entities, "text_link", start16, end16, url=url)
    elif entry.tag == "code" and stack and stack[-1].tag == "pre":
        if entry.language and not stack[-1].language:
            stack[-1].language = entry.language
    elif entry.tag == "pre":
        _finish_entity(entities, "pre", start16, end16, language=entry.language)
    elif entry.tag == "blockquote":
        kind = "expandable_blockquote" if entry.expandable else "blockquote"
        _finish_entity(entities, kind, start16, end16)
    elif entry.tag == "tg-emoji":
        _finish_entity(entities, entity_type, start16, end16, custom_emoji_id=entry.argument)
    elif entry.tag == "tg-time":
        _finish_entity(
            entities,
            entity_type,
            start16,
            end16,
            unix_time=int(entry.unix),
            date_time_format=entry.time_format,
        )
    else:
        _finish_entity(entities, entity_type, start16, end16)
    return i + 1


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _escapable(text: str, index: int) -> bool:
    return index < len(text) and 0 < ord(text[index]) <= 126


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2. Returns ``(plain_text, entities)``; raises EntityParseError."""
    out = _Builder()
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    quote_start: int | None = None  # UTF-16 offset where the current blockquote began
    quote_expandable = False
    n = len(text)
    i = 0

    def at(index: int) -> str:
        return text[index] if index < n else ""

    def close_quote() -> None:
        nonlocal quote_start, quote_expandable
        if quote_start is not None:
            kind = "expandable_blockquote" if quote_expandable else "blockquote"
            end16 = out.length16
            if out.parts and out.parts[-1] == "\n":
                end16 -= 1
            _finish_entity(entities, kind, quote_start, end16)
        quote_start = None
        quote_expandable = False

    while i < n:
        c = text[i]
        line_start = i == 0 or text[i - 1] == "\n"
        if line_start and not stack:
            if c == ">" or (c == "*" and at(i + 1) == "*" and at(i + 2) == ">"):
                if quote_start is None:
                    quote_start = out.length16
                if c == "*":
                    quote_expandable = True
                    i += 2
                i += 1
                continue
            close_quote()
        if c == "\\" and _escapable(text, i + 1):
            out.add(text[i + 1])
            i += 2
            continue
        reserved = "`" if stack and stack[-1].tag in ("code", "pre") else _MDV2_RESERVED
        if c not in reserved:
            out.add(c)
            i += 1
            continue
        if (
            quote_start is not None
            and c == "|"
            and at(i + 1) == "|"
            and (i + 2 >= n or text[i + 2] == "\n")
            and not (stack and stack[-1].tag == "spoiler")
        ):
            quote_expandable = True
            i += 2
            continue
        closing = False
        if stack:
            top = stack[-1].tag
            closing = (
                (top == "bold" and c == "*")
                or (top == "italic" and c == "_" and at(i + 1) != "_")
                or (top == "code" and c == "`")
                or (top == "pre" and c == "`" and at(i + 1) == "`" and at(i + 2) == "`")
                or (top in ("text_link", "custom_emoji") and c == "]")
                or (top == "underline" and c == "_" and at(i + 1) == "_")
                or (top == "strikethrough" and c == "~")
                or (top == "spoiler" and c == "|" and at(i + 1) == "|")
            )
        if not closing:
            entry = _Open(tag="", offset16=out.length16, byte_offset=_byte_offset(text, i))
            if c == "_":
                if at(i + 1) == "_":
                    entry.tag = "underline"
                    i += 1
                else:
                    entry.tag = "italic"
            elif c == "*":
                entry.tag = "bold"
            elif c == "~":
                entry.tag = "strikethrough"
            elif c == "|" and at(i + 1) == "|":
                entry.tag = "spoiler"
                i += 1
            elif c == "[":
                entry.tag = "text_link"
            elif c == "!" and at(i + 1) == "[":
                entry.tag = "custom_emoji"
                i += 1
            elif c == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    entry.tag = "pre"
                    i += 3
                    lang_end = i
                    while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                        lang_end += 1
                    if lang_end != i and lang_end < n and text[lang_end] != "`":
                        entry.language = text[i:lang_end]
                        i = lang_end
                    if at(i) in ("\n", "\r"):
                        if at(i + 1) in ("\n", "\r") and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    entry.tag = "code"
            else:
                raise EntityParseError(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            entry.offset16 = out.length16
            entry.text_start = len(out.parts)
            stack.append(entry)
            i += 1
            continue
        entry = stack.pop()
        extra: dict[str, Any] = {}
        if entry.tag in ("underline", "spoiler"):
            i += 1
        elif entry.tag == "pre":
            i += 2
            extra["language"] = entry.language
        elif entry.tag in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                if entry.tag == "custom_emoji":
                    raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
                url = "".join(out.parts[entry.text_start :])
            else:
                i += 2
                url_start = i
                chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and _escapable(text, i + 1):
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_start)}"
                    )
                url = "".join(chars)
            if entry.tag == "custom_emoji":
                emoji_id = url.removeprefix("tg://emoji?id=")
                if emoji_id == url or not emoji_id.isdigit():
                    raise EntityParseError("Invalid custom emoji identifier specified")
                extra["custom_emoji_id"] = emoji_id
            else:
                extra["url"] = url
        _finish_entity(entities, entry.tag, entry.offset16, out.length16, **extra)
        i += 1
    if stack:
        entry = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[entry.tag]} entity at byte offset {entry.byte_offset}"
        )
    close_quote()
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown. Returns ``(plain_text, entities)``; raises EntityParseError."""
    out = _Builder()
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        language = ""
        i += 1
        if c == "`" and text[i : i + 2] == "``":
            i += 2
            is_pre = True
            lang_end = i
            while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                lang_end += 1
            if lang_end != i and lang_end < n and text[lang_end] != "`":
                language = text[i:lang_end]
                i = lang_end
            if i < n and text[i] == "\n":
                i += 1
        start16 = out.length16
        text_start = len(out.parts)
        while i < n and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.add(text[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if is_pre:
            i += 2
            _finish_entity(entities, "pre", start16, out.length16, language=language)
        elif c == "[":
            url = "".join(out.parts[text_start:])
            if i + 1 < n and text[i + 1] == "(":
                close = text.find(")", i + 2)
                if close != -1:
                    url = text[i + 2 : close]
                    i = close
            _finish_entity(entities, "text_link", start16, out.length16, url=url)
        else:
            kind = {"_": "italic", "*": "bold", "`": "code"}[c]
            _finish_entity(entities, kind, start16, out.length16)
        i += 1
    return out.text(), entities


def parse_entities(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply ``parse_mode`` (``None`` = plain text). Raises EntityParseError or ValueError for
    an unsupported parse mode."""
    if parse_mode is None or parse_mode == "":
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")


def trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace as Telegram does, moving/clipping the entities."""
    stripped_left = text.lstrip()
    shift = utf16_len(text[: len(text) - len(stripped_left)])
    result = stripped_left.rstrip()
    total = utf16_len(result)
    fixed: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return result, fixed
