"""Initial schema: chats, chat_preferences, unanswered_questions.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("language_code", sa.String(length=35), nullable=True),
        sa.CheckConstraint(
            "kind IN ('private', 'group', 'supergroup')", name=op.f("ck_chats_kind")
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chats")),
    )
    op.create_table(
        "chat_preferences",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.chat_id"],
            name=op.f("fk_chat_preferences_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "key", name=op.f("pk_chat_preferences")),
    )
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


def downgrade() -> None:
    op.drop_index(op.f("ix_unanswered_questions_asked_at"), table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
    op.drop_table("chat_preferences")
    op.drop_table("chats")
