"""Keep secrets (the bot token) out of every log record, at every level, tracebacks included.

PTB logs the Bot API URL, which holds the token, at DEBUG; an exception from httpx can quote a
request URL; a third-party handler may format records its own way. So the token is taken out
twice:

* a log record factory (:func:`logging.setLogRecordFactory`) redacts each record as it is
  made: its message (arguments merged in), its exception text and its stack, so that every
  handler, filter and test capture sees a clean record;
* :class:`RedactingFormatter`, on every handler :func:`install` finds, redacts the formatted
  line once more (for records made before the factory was installed, or by code that builds
  records itself).

Both replace the whole token and also its secret part (after the colon) on its own, which is
what a URL-encoded or truncated token would still show.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Final

REDACTED: Final = "[redacted]"

_base_factory = logging.getLogRecordFactory()
_plain = logging.Formatter()


class Redactor:
    """Replaces each secret, and the part of a bot token after its colon, with [redacted]."""

    def __init__(self, secrets: Iterable[str]) -> None:
        parts: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            parts.add(secret)
            _, colon, tail = secret.partition(":")
            if colon and len(tail) >= 8:
                parts.add(tail)
        # Longest first, so the whole token goes before its tail is looked for.
        ordered = sorted(parts, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(p) for p in ordered)) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def record(self, record: logging.LogRecord) -> None:
        """Redact ``record`` in place: message, exception text and stack."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it when the record is emitted
            message = None
        if message is not None:
            clean = self(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        if record.stack_info:
            record.stack_info = self(record.stack_info)


class RedactingFormatter(logging.Formatter):
    """Formats with ``inner`` (or like :class:`logging.Formatter`), then redacts the line."""

    def __init__(self, redactor: Redactor, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.redactor = redactor
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(self.inner.format(record))


def install(secrets: Iterable[str], handlers: Iterable[logging.Handler] | None = None) -> Redactor:
    """Redact ``secrets`` from every record from now on, and from the output of ``handlers``
    (default: the root logger's). Calling it again replaces the secrets; an empty list
    removes the record factory."""
    redactor = Redactor(secrets)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _base_factory(*args, **kwargs)
        redactor.record(record)
        return record

    logging.setLogRecordFactory(factory if redactor else _base_factory)
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current.redactor = redactor
        else:
            handler.setFormatter(RedactingFormatter(redactor, current))
    return redactor
