"""Event buses, rules, targets and the outbox of events bound for a target (``event_bus``,
``event_rule``, ``event_target``, ``event_delivery``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_bus",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_bus")),
    )
    op.create_table(
        "event_rule",
        sa.Column("bus_name", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("event_pattern", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bus_name", "name", name=op.f("pk_event_rule")),
    )
    op.create_table(
        "event_target",
        sa.Column("bus_name", sa.String(length=256), nullable=False),
        sa.Column("rule_name", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("arn", sa.Text(), nullable=False),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("input_path", sa.Text(), nullable=True),
        sa.Column("input_transformer", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("bus_name", "rule_name", "target_id", name=op.f("pk_event_target")),
    )
    op.create_table(
        "event_delivery",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("bus_name", sa.String(length=256), nullable=False),
        sa.Column("rule_name", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("arn", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_delivery")),
    )
    op.create_index(op.f("ix_event_delivery_status"), "event_delivery", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_event_delivery_status"), table_name="event_delivery")
    op.drop_table("event_delivery")
    op.drop_table("event_target")
    op.drop_table("event_rule")
    op.drop_table("event_bus")
