"""Exceptions raised by the store; see the hierarchy in the :mod:`store` docstring."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not do what was asked (unreachable, locked, constraint...)."""


class MigrationError(StoreError):
    """Bringing the schema to the head revision failed (or the database is ahead of the code)."""


class UnknownChatError(StoreError, LookupError):
    """The operation needs a chat that :meth:`store.Store.record_chat` never recorded."""
