"""Everything stored about one chat, for /mydata: every chat-linked table, every column.

Built from the same registry /forget deletes from (:data:`store.models.CHAT_LINKED_TABLES`),
so a new table about a chat is exported as soon as it is registered.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from .base import StoreBase
from .models import CHAT_LINKED_TABLES


def _plain(value: Any) -> Any:
    """A JSON-ready form of a column's value (dates as ISO 8601, times in UTC)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class ExportQueries(StoreBase):
    def export_chat(self, chat_id: int) -> dict[str, list[dict[str, Any]]]:
        """Each chat-linked table's rows about the chat (table name -> rows, column ->
        value), in one read transaction so the tables agree with each other."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self._read() as conn:
            for link in sorted(CHAT_LINKED_TABLES, key=lambda link: link.table.name):
                table = link.table
                order = list(table.primary_key.columns)
                rows = conn.execute(
                    select(table).where(table.c[link.column] == chat_id).order_by(*order)
                ).mappings()
                out[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
        return out
