"""Symptom check-ins and pain scores after step-ups (issue #9).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("dose_mg", sa.String(length=8), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=16), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("kind IN ('side_effects', 'pain')", name=op.f("ck_checkins_kind")),
        sa.CheckConstraint(
            "delivery IN ('pending', 'sending', 'sent', 'unknown', 'not_sent', 'blocked')",
            name=op.f("ck_checkins_delivery"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint(
            "chat_id", "local_date", "kind", name=op.f("uq_checkins_chat_id_local_date_kind")
        ),
    )
    op.create_index(
        op.f("ix_checkins_delivery_due_at"), "checkins", ["delivery", "due_at"], unique=False
    )
    op.create_table(
        "checkin_answers",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("checkin_id", _ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("item", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "item IN ('vivid_dreams', 'sleep', 'nausea', 'headache', 'mood', 'none', 'pain')",
            name=op.f("ck_checkin_answers_item"),
        ),
        sa.CheckConstraint(
            "severity IS NULL OR severity IN ('mild', 'bothering', 'severe')",
            name=op.f("ck_checkin_answers_severity"),
        ),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 10)", name=op.f("ck_checkin_answers_score")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name=op.f("fk_checkin_answers_checkin_id_checkins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_answers")),
        sa.UniqueConstraint("checkin_id", "item", name=op.f("uq_checkin_answers_checkin_id_item")),
    )
    op.create_index(
        op.f("ix_checkin_answers_checkin_id"), "checkin_answers", ["checkin_id"], unique=False
    )
    op.create_index(
        op.f("ix_checkin_answers_recorded_at"), "checkin_answers", ["recorded_at"], unique=False
    )
    op.create_index(
        op.f("ix_checkin_answers_chat_id_recorded_at"),
        "checkin_answers",
        ["chat_id", "recorded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_checkin_answers_chat_id_recorded_at"), table_name="checkin_answers")
    op.drop_index(op.f("ix_checkin_answers_recorded_at"), table_name="checkin_answers")
    op.drop_index(op.f("ix_checkin_answers_checkin_id"), table_name="checkin_answers")
    op.drop_table("checkin_answers")
    op.drop_index(op.f("ix_checkins_delivery_due_at"), table_name="checkins")
    op.drop_table("checkins")
