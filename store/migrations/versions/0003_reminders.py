"""Reminders: regimens, plan drafts, evenings (unique per chat and local evening), follow-ups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evenings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("evening", sa.Date(), nullable=False),
        sa.Column("dose_mg", sa.String(length=8), nullable=False),
        sa.Column("previous_mg", sa.String(length=8), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_up", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=16), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "delivery IN ('pending', 'sending', 'sent', 'unknown', 'not_sent', 'blocked')",
            name=op.f("ck_evenings_delivery"),
        ),
        sa.CheckConstraint(
            "outcome IN ('none', 'taken', 'skipped', 'missed')", name=op.f("ck_evenings_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evenings")),
        sa.UniqueConstraint("chat_id", "evening", name=op.f("uq_evenings_chat_id_evening")),
    )
    op.create_index(
        op.f("ix_evenings_delivery_due_at"), "evenings", ["delivery", "due_at"], unique=False
    )
    op.create_index(
        op.f("ix_evenings_delivery_outcome_ends_at"),
        "evenings",
        ["delivery", "outcome", "ends_at"],
        unique=False,
    )

    op.create_table(
        "plan_drafts",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("plan_name", sa.String(length=32), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("remind_at", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_plan_drafts")),
    )
    op.create_table(
        "regimens",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("plan_name", sa.String(length=32), nullable=False),
        sa.Column("plan_title", sa.String(length=64), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("max_mg", sa.String(length=8), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("remind_at", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("holds", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("next_evening", sa.Date(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('active', 'paused', 'stopped')", name=op.f("ck_regimens_state")
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_regimens")),
    )
    op.create_index(op.f("ix_regimens_next_due_at"), "regimens", ["next_due_at"], unique=False)

    op.create_table(
        "reminder_followups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "evening_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=16), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "delivery IN ('pending', 'sending', 'sent', 'unknown', 'not_sent', 'blocked')",
            name=op.f("ck_reminder_followups_delivery"),
        ),
        sa.CheckConstraint("kind IN ('snooze', 'nudge')", name=op.f("ck_reminder_followups_kind")),
        sa.ForeignKeyConstraint(
            ["evening_id"],
            ["evenings.id"],
            name=op.f("fk_reminder_followups_evening_id_evenings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_followups")),
        sa.UniqueConstraint(
            "evening_id", "kind", "seq", name=op.f("uq_reminder_followups_evening_id_kind_seq")
        ),
    )
    op.create_index(
        op.f("ix_reminder_followups_delivery_due_at"),
        "reminder_followups",
        ["delivery", "due_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_reminder_followups_evening_id"), "reminder_followups", ["evening_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reminder_followups_evening_id"), table_name="reminder_followups")
    op.drop_index(op.f("ix_reminder_followups_delivery_due_at"), table_name="reminder_followups")

    op.drop_table("reminder_followups")
    op.drop_index(op.f("ix_regimens_next_due_at"), table_name="regimens")

    op.drop_table("regimens")
    op.drop_table("plan_drafts")
    op.drop_index(op.f("ix_evenings_delivery_outcome_ends_at"), table_name="evenings")
    op.drop_index(op.f("ix_evenings_delivery_due_at"), table_name="evenings")

    op.drop_table("evenings")
