"""Chats: recording them, their preferences, /forget, and the unanswered-question log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast, get_args

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from .base import Excluded, StoreBase, _aware
from .errors import StoreError, UnknownChatError
from .models import (
    CHAT_KINDS,
    CHAT_LINKED_TABLES,
    UNANSWERED_STATUSES,
    Base,
    Chat,
    ChatLink,
    ChatPreference,
    InboxUpdate,
    UnansweredQuestion,
)

ChatKind = Literal["private", "group", "supergroup"]
UnansweredStatus = Literal["fallback", "clarify"]

if get_args(ChatKind) != CHAT_KINDS or get_args(UnansweredStatus) != UNANSWERED_STATUSES:
    raise RuntimeError("store.chats literals disagree with the CHECK constraints in store.models")


@dataclass(frozen=True, slots=True)
class ChatRecord:
    chat_id: int
    kind: ChatKind
    first_seen: datetime
    last_seen: datetime
    started: bool
    language_code: str | None


@dataclass(frozen=True, slots=True)
class UnansweredQuestionRow:
    question: str  # scrubbed and normalised, never linked to a chat
    status: UnansweredStatus
    asked_at: datetime  # only its UTC day is stored


@dataclass(frozen=True, slots=True)
class UnansweredCount:
    question: str
    count: int
    last_day: date  # UTC


QUESTION_MAX = 1000  # characters of a kept question (knowledge.scrub.MAX_KEPT)


def _utc_day(now: datetime) -> date:
    return _aware(now).astimezone(UTC).date()


def _retention_cutoff(now: datetime, retention_days: int) -> date:
    """The first UTC day kept: ``retention_days`` whole days before ``now``'s day."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be >= 0, got {retention_days}")
    return _utc_day(now) - timedelta(days=retention_days)


def _deletion_order(links: Sequence[ChatLink]) -> list[ChatLink]:
    """Children before parents, so every delete is counted (not done by ON DELETE CASCADE)."""
    rank = {table: i for i, table in enumerate(Base.metadata.sorted_tables)}
    return sorted(links, key=lambda link: rank.get(link.table, -1), reverse=True)


class ChatQueries(StoreBase):
    """Chats, their preferences, /forget, and the unanswered-question log."""

    # -- chats -----------------------------------------------------------------------------

    def record_chat(
        self,
        chat_id: int,
        kind: ChatKind,
        now: datetime,
        started: bool = False,
        language_code: str | None = None,
    ) -> None:
        """Insert the chat or refresh it, atomically (safe with concurrent callers).

        ``last_seen`` only moves forward and ``first_seen`` only backward, ``started`` stays
        true once true, ``kind`` takes the latest value and ``language_code`` the latest
        non-null one.
        """
        if kind not in CHAT_KINDS:
            raise ValueError(f"chat kind must be one of {CHAT_KINDS}, got {kind!r}")
        _aware(now)

        def updates(excluded: Excluded) -> Mapping[InstrumentedAttribute[Any], Any]:
            return {
                Chat.kind: excluded.kind,
                Chat.first_seen: case(
                    (excluded.first_seen < Chat.first_seen, excluded.first_seen),
                    else_=Chat.first_seen,
                ),
                Chat.last_seen: case(
                    (excluded.last_seen > Chat.last_seen, excluded.last_seen),
                    else_=Chat.last_seen,
                ),
                Chat.started: or_(Chat.started, excluded.started),
                Chat.language_code: func.coalesce(excluded.language_code, Chat.language_code),
                # A chat that writes to us again can be reached again.
                Chat.unreachable_since: None,
            }

        stmt = self._upsert(
            Chat,
            {
                "chat_id": chat_id,
                "kind": kind,
                "first_seen": now,
                "last_seen": now,
                "started": started,
                "language_code": language_code,
            },
            [Chat.chat_id],
            updates,
        )
        with self._write() as conn:
            conn.execute(stmt)

    def mark_unreachable(self, chat_id: int, now: datetime) -> None:
        """Telegram refused a send for good (blocked, deactivated, chat not found)."""
        with self._write() as conn:
            conn.execute(
                update(Chat)
                .where(Chat.chat_id == chat_id, Chat.unreachable_since.is_(None))
                .values(unreachable_since=_aware(now))
            )

    def is_unreachable(self, chat_id: int) -> bool:
        with self._read() as conn:
            since = conn.scalar(select(Chat.unreachable_since).where(Chat.chat_id == chat_id))
        return since is not None

    def get_chat(self, chat_id: int) -> ChatRecord | None:
        """The chat as recorded, or ``None``."""
        with self._read() as conn:
            row = conn.execute(
                select(
                    Chat.chat_id,
                    Chat.kind,
                    Chat.first_seen,
                    Chat.last_seen,
                    Chat.started,
                    Chat.language_code,
                ).where(Chat.chat_id == chat_id)
            ).one_or_none()
        if row is None:
            return None
        return ChatRecord(
            chat_id=row.chat_id,
            kind=cast(ChatKind, row.kind),
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            started=bool(row.started),
            language_code=row.language_code,
        )

    def started_chat_ids(self) -> list[int]:
        """Ids of every chat that sent /start, ascending."""
        with self._read() as conn:
            return list(
                conn.scalars(
                    select(Chat.chat_id).where(Chat.started.is_(True)).order_by(Chat.chat_id)
                )
            )

    # -- preferences -----------------------------------------------------------------------

    def set_preference(self, chat_id: int, key: str, value: str, now: datetime) -> None:
        """Set (insert or replace) one preference of a recorded chat.

        Raises :class:`~store.UnknownChatError` if the chat was never recorded (or forgotten).
        """
        if not key:
            raise ValueError("preference key must not be empty")
        _aware(now)
        stmt = self._upsert(
            ChatPreference,
            {"chat_id": chat_id, "key": key, "value": value, "updated_at": now},
            [ChatPreference.chat_id, ChatPreference.key],
            lambda excluded: {
                ChatPreference.value: excluded.value,
                ChatPreference.updated_at: excluded.updated_at,
            },
        )
        try:
            with self._write() as conn:
                conn.execute(stmt)
        except StoreError as exc:
            # The only constraint the upsert can violate is the foreign key to chats.
            if isinstance(exc.__cause__, IntegrityError):
                raise UnknownChatError(f"chat {chat_id} is not recorded") from exc.__cause__
            raise

    def get_preferences(self, chat_id: int) -> dict[str, str]:
        """All preferences of the chat (empty if none), keyed by name."""
        with self._read() as conn:
            rows = conn.execute(
                select(ChatPreference.key, ChatPreference.value)
                .where(ChatPreference.chat_id == chat_id)
                .order_by(ChatPreference.key)
            )
            return {row.key: row.value for row in rows}

    # -- privacy ---------------------------------------------------------------------------

    def forget_chat(self, chat_id: int, *, sent_after: int | None = None) -> int:
        """Delete every row about the chat from every chat-linked table; returns the count.

        The tables are those in :data:`store.models.CHAT_LINKED_TABLES`, deleted children
        first in one transaction. ``sent_after`` (the update_id of the /forget request) keeps
        the inbox rows of messages the patient sent after it, still waiting to be answered:
        forgetting is about what came before. On SQLite the deleted content is zeroed
        (``secure_delete``) and the WAL is checkpointed and truncated, so the rows linger in
        neither file; on PostgreSQL they stay as dead tuples until VACUUM (see the README).
        """
        deleted = 0
        with self._write() as conn:
            for link in _deletion_order(CHAT_LINKED_TABLES):
                stmt = delete(link.table).where(link.table.c[link.column] == chat_id)
                if sent_after is not None and link.table is InboxUpdate.__table__:
                    stmt = stmt.where(InboxUpdate.update_id <= sent_after)
                deleted += conn.execute(stmt).rowcount
        if deleted:
            self._checkpoint()
        return deleted

    def rows_about_chat(self, chat_id: int) -> int:
        """How many rows the chat-linked tables hold about the chat (0 after forget)."""
        total = 0
        with self._read() as conn:
            for link in CHAT_LINKED_TABLES:
                count = conn.scalar(
                    select(func.count())
                    .select_from(link.table)
                    .where(link.table.c[link.column] == chat_id)
                )
                total += int(count or 0)
        return total

    # -- unanswered questions --------------------------------------------------------------

    def record_unanswered(self, question: str, status: UnansweredStatus, now: datetime) -> None:
        """Count a question the engine fell back or asked to clarify on, for ``now``'s UTC day.

        ``question`` must already be scrubbed (:func:`knowledge.scrub.for_record`); no chat
        and no time of day are kept."""
        self.record_unanswered_many([UnansweredQuestionRow(question, status, now)])

    def record_unanswered_many(self, rows: Sequence[UnansweredQuestionRow]) -> None:
        """Count several such questions in one transaction (the bot batches them).

        Each (question, day, status) is one atomic upsert that adds to its count, so that
        concurrent writers (threads, or processes on PostgreSQL) never lose a count; they are
        written in key order, so two batches cannot deadlock and the order of asking is not
        kept."""
        counts: Counter[tuple[str, date, str]] = Counter()
        for row in rows:
            if row.status not in UNANSWERED_STATUSES:
                raise ValueError(f"status must be one of {UNANSWERED_STATUSES}, got {row.status!r}")
            counts[(row.question[:QUESTION_MAX], _utc_day(row.asked_at), row.status)] += 1
        if not counts:
            return
        with self._write() as conn:
            for (question, day, status), count in sorted(counts.items()):
                conn.execute(
                    self._upsert(
                        UnansweredQuestion,
                        {"question": question, "day": day, "status": status, "count": count},
                        [
                            UnansweredQuestion.question,
                            UnansweredQuestion.day,
                            UnansweredQuestion.status,
                        ],
                        lambda excluded: {
                            UnansweredQuestion.count: UnansweredQuestion.count + excluded.count
                        },
                    )
                )

    def purge_unanswered(self, now: datetime, retention_days: int) -> int:
        """Delete the counts of days before ``now - retention_days`` (UTC); returns how many
        (question, day, status) rows went."""
        first_kept = _retention_cutoff(now, retention_days)
        with self._write() as conn:
            result = conn.execute(
                delete(UnansweredQuestion).where(UnansweredQuestion.day < first_kept)
            )
            return result.rowcount

    def unanswered_report(
        self, now: datetime, retention_days: int, limit: int = 50
    ) -> list[UnansweredCount]:
        """The most frequent unanswered questions of the days since ``now - retention_days``.

        Ordered by count (descending), then by the last day asked (most recent first), then by
        the question text; at most ``limit`` entries.
        """
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        first_kept = _retention_cutoff(now, retention_days)
        count = func.sum(UnansweredQuestion.count).label("count")
        last_day = func.max(UnansweredQuestion.day).label("last_day")
        stmt = (
            select(UnansweredQuestion.question, count, last_day)
            .where(UnansweredQuestion.day >= first_kept)
            .group_by(UnansweredQuestion.question)
            .order_by(count.desc(), last_day.desc(), UnansweredQuestion.question)
            .limit(limit)
        )
        with self._read() as conn:
            return [
                UnansweredCount(question=question, count=int(n), last_day=last)
                for question, n, last in conn.execute(stmt)
            ]
