"""Staff alerts, relays and reload requests (issue #11).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index(
        op.f("ix_evenings_evening_outcome"), "evenings", ["evening", "outcome"], unique=False
    )
    op.create_table(
        "alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("acknowledged_by", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'withheld')", name=op.f("ck_alerts_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("event_id", name=op.f("uq_alerts_event_id")),
    )
    op.create_index(op.f("ix_alerts_chat_id"), "alerts", ["chat_id"], unique=False)
    op.create_index(op.f("ix_alerts_state_id"), "alerts", ["state", "id"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'blocked')",
            name=op.f("ck_alert_deliveries_state"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint(
            "alert_id", "staff_id", name=op.f("uq_alert_deliveries_alert_id_staff_id")
        ),
    )
    op.create_index(
        op.f("ix_alert_deliveries_alert_id"), "alert_deliveries", ["alert_id"], unique=False
    )
    op.create_index(
        op.f("ix_alert_deliveries_state_next_attempt_at"),
        "alert_deliveries",
        ["state", "next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "relays",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compose_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("patient_message_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('composing', 'sent', 'cancelled')", name=op.f("ck_relays_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relays")),
    )
    op.create_index(op.f("ix_relays_staff_id_state"), "relays", ["staff_id", "state"], unique=False)
    op.create_index(
        op.f("ix_relays_chat_id_patient_message_id"),
        "relays",
        ["chat_id", "patient_message_id"],
        unique=False,
    )

    op.create_table(
        "reload_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')", name=op.f("ck_reload_requests_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reload_requests")),
    )


def downgrade() -> None:
    op.drop_table("reload_requests")
    op.drop_index(op.f("ix_relays_chat_id_patient_message_id"), table_name="relays")
    op.drop_index(op.f("ix_relays_staff_id_state"), table_name="relays")
    op.drop_table("relays")
    op.drop_index(op.f("ix_alert_deliveries_state_next_attempt_at"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_alert_id"), table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_alerts_state_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_chat_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_evenings_evening_outcome"), table_name="evenings")
