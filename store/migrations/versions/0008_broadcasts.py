"""Enrolment codes, broadcasts and their per-recipient outbox (issue #10).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DELIVERIES = "'pending', 'sending', 'sent', 'unknown', 'not_sent', 'blocked', 'failed'"


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("plan_name", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _when("created_at", False),
        _when("expires_at", False),
        _when("used_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_codes_code_hash")),
    )
    op.create_table(
        "enrolment_pending",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enrolment_id", _id(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        _when("created_at", False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolment_codes.id"],
            name=op.f("fk_enrolment_pending_enrolment_id_enrolment_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_enrolment_pending")),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        _when("created_at", False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("entities", sa.Text(), nullable=True),
        sa.Column("file_id", sa.String(length=256), nullable=True),
        sa.Column("audience", sa.String(length=10), nullable=True),
        sa.Column("plan_name", sa.String(length=32), nullable=True),
        sa.Column("urgent", sa.Boolean(create_constraint=False), nullable=False),
        _when("scheduled_for"),
        _when("started_at"),
        _when("finished_at"),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("reported", sa.Boolean(create_constraint=False), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')",
            name=op.f("ck_broadcasts_state"),
        ),
        sa.CheckConstraint(
            "kind IN ('text', 'photo', 'document')", name=op.f("ck_broadcasts_kind")
        ),
        sa.CheckConstraint(
            "audience IS NULL OR audience IN ('all', 'titrating', 'plan')",
            name=op.f("ck_broadcasts_audience"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_state_scheduled_for", "broadcasts", ["state", "scheduled_for"])
    op.create_index("ix_broadcasts_created_by_state", "broadcasts", ["created_by", "state"])
    op.create_table(
        "broadcast_outbox",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("broadcast_id", _id(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at", False),
        _when("claimed_at"),
        _when("sent_at"),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            f"delivery IN ({_DELIVERIES})", name=op.f("ck_broadcast_outbox_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_outbox_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_outbox")),
        sa.UniqueConstraint(
            "broadcast_id", "chat_id", name=op.f("uq_broadcast_outbox_broadcast_id_chat_id")
        ),
    )
    op.create_index(
        "ix_broadcast_outbox_delivery_next_attempt_at",
        "broadcast_outbox",
        ["delivery", "next_attempt_at"],
    )
    op.create_index(
        "ix_broadcast_outbox_broadcast_id_delivery",
        "broadcast_outbox",
        ["broadcast_id", "delivery"],
    )


def downgrade() -> None:
    op.drop_index("ix_broadcast_outbox_broadcast_id_delivery", table_name="broadcast_outbox")
    op.drop_index("ix_broadcast_outbox_delivery_next_attempt_at", table_name="broadcast_outbox")
    op.drop_table("broadcast_outbox")
    op.drop_index("ix_broadcasts_created_by_state", table_name="broadcasts")
    op.drop_index("ix_broadcasts_state_scheduled_for", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_table("enrolment_pending")
    op.drop_table("enrolment_codes")
