"""Errors raised by the knowledge engine.

    KnowledgeError            anything wrong with the knowledge data
    └── ValidationError       a YAML file that does not match the schema; names file, entry, field

The engine itself does not raise on patients' input: every question gets a `Reply`.
"""

from __future__ import annotations


class KnowledgeError(Exception):
    """The knowledge data cannot be used."""


class ValidationError(KnowledgeError):
    """A YAML file breaks the schema; the message names the file, the entry and the field."""

    def __init__(self, file: str, entry: str | None, field: str | None, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.problem = problem
        where = file
        if entry is not None:
            where += f", entry {entry!r}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")
