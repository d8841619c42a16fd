"""Unanswered questions as (question, day, status) -> count, scrubbed; no time, no order.

The old table kept each question with the microsecond it was asked and an increasing id, so a
question could be matched to the chat whose ``last_seen`` was written at the same moment. Its
rows are grouped by UTC day, scrubbed again (names, numbers, e-mails written out...) and
counted; then the old table is dropped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from alembic import op

from knowledge.scrub import MAX_KEPT, NUMBER, scrub

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Normalised text has lost the separators the scrubber reads: "03/04/61" was kept as
# "03 04 61", so three or more number groups in a row are taken out as well.
_GROUPS = re.compile(r"(?<![\w.])\d+(?:\s+\d+){2,}(?![\w.])")

_OLD = sa.table(
    "unanswered_questions",
    sa.column("id", sa.Integer()),
    sa.column("question_normalized", sa.Text()),
    sa.column("status", sa.String(16)),
    sa.column("asked_at", sa.DateTime(timezone=True)),
)
_NEW = sa.table(
    "unanswered_questions",
    sa.column("question", sa.Text()),
    sa.column("day", sa.Date()),
    sa.column("status", sa.String(16)),
    sa.column("count", sa.Integer()),
)


def _legacy_scrub(question: str) -> str:
    text = scrub(question.replace("#", f" {NUMBER} "))
    text = _GROUPS.sub(NUMBER, text)
    return " ".join(text.split())[:MAX_KEPT]


def _utc_day(asked_at: datetime) -> date:
    if asked_at.tzinfo is None:  # SQLite keeps naive UTC
        return asked_at.date()
    return asked_at.astimezone(UTC).date()


def upgrade() -> None:
    conn = op.get_bind()
    counts: Counter[tuple[str, date, str]] = Counter()
    for question, status, asked_at in conn.execute(
        sa.select(_OLD.c.question_normalized, _OLD.c.status, _OLD.c.asked_at)
    ):
        counts[(_legacy_scrub(question), _utc_day(asked_at), status)] += 1

    op.drop_index(op.f("ix_unanswered_questions_asked_at"), table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
    op.create_table(
        "unanswered_questions",
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_unanswered_questions_count")),
        sa.CheckConstraint(
            "status IN ('fallback', 'clarify')", name=op.f("ck_unanswered_questions_status")
        ),
        sa.PrimaryKeyConstraint("question", "day", "status", name=op.f("pk_unanswered_questions")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_unanswered_questions_day"), "unanswered_questions", ["day"], unique=False
    )
    if counts:
        # Inserted in key order: nothing of the old order of asking survives.
        conn.execute(
            sa.insert(_NEW),
            [
                {"question": q, "day": d, "status": s, "count": n}
                for (q, d, s), n in sorted(counts.items())
            ],
        )


def downgrade() -> None:
    conn = op.get_bind()
    rows = list(conn.execute(sa.select(_NEW.c.question, _NEW.c.day, _NEW.c.status, _NEW.c.count)))
    op.drop_index(op.f("ix_unanswered_questions_day"), table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
    op.create_table(
        "unanswered_questions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("question_normalized", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('fallback', 'clarify')", name=op.f("ck_unanswered_questions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unanswered_questions")),
    )
    op.create_index(
        op.f("ix_unanswered_questions_asked_at"),
        "unanswered_questions",
        ["asked_at"],
        unique=False,
    )
    sqlite = conn.dialect.name == "sqlite"
    old = [
        {
            "question_normalized": question,
            "status": status,
            # Midnight UTC of the day: the time of day is gone for good. SQLite keeps naive UTC.
            "asked_at": datetime.combine(day, time(), None if sqlite else UTC),
        }
        for question, day, status, count in rows
        for _ in range(count)
    ]
    if old:
        conn.execute(sa.insert(_OLD), old)
