"""The models' foundation: the declarative base and its naming convention, the UTC-only
timestamp type, the registry of chat-linked tables (:func:`chat_linked`), and the value lists
that several domains' CHECK constraints share. :mod:`store.models` re-exports all of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

CHAT_KINDS: Final = ("private", "group", "supergroup")
# Delivery (what happened to the message) is kept apart from outcome (what the patient did).
DELIVERIES: Final = ("pending", "sending", "sent", "unknown", "not_sent", "blocked")
OUTCOMES: Final = ("none", "taken", "skipped", "missed")
REGIMEN_STATES: Final = ("active", "paused", "stopped")
FOLLOWUP_KINDS: Final = ("snooze", "nudge")
UNANSWERED_STATUSES: Final = ("fallback", "clarify")

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that refuses naive datetimes and returns aware UTC.

    SQLite has no time zone support, so values are stored there as naive UTC text (fixed
    width, so text order is time order) and tagged as UTC again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers give datetimes
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class ChatLink:
    """A table holding rows about one chat, found through ``column``."""

    table: Table
    column: str = "chat_id"


CHAT_LINKED_TABLES: list[ChatLink] = []
"""Every table whose rows are about a chat; ``forget_chat`` deletes from all of them."""

_M = TypeVar("_M", bound=type[Base])


def register_chat_table(table: Table, column: str = "chat_id") -> None:
    """Include ``table`` in ``forget_chat`` / ``rows_about_chat`` (idempotent)."""
    if column not in table.c:
        raise ValueError(f"table {table.name!r} has no column {column!r}")
    link = ChatLink(table, column)
    if link not in CHAT_LINKED_TABLES:
        CHAT_LINKED_TABLES.append(link)


def chat_linked(column: str = "chat_id") -> Callable[[_M], _M]:
    """Class decorator form of :func:`register_chat_table` for declarative models."""

    def decorate(model: _M) -> _M:
        table = model.__table__
        if not isinstance(table, Table):  # pragma: no cover - declarative always makes a Table
            raise TypeError(f"{model.__name__} is not mapped to a Table")
        register_chat_table(table, column)
        return model

    return decorate


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_ID = BigInteger().with_variant(Integer(), "sqlite")
