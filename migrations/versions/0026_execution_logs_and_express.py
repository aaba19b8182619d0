"""Execution logging (``state_machine_logging``, ``execution_log_event``) and the queue of
asynchronous Express executions (``express_execution``).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "state_machine_logging",
        sa.Column("state_machine_name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("include_execution_data", sa.Boolean(), nullable=False),
        sa.Column("log_group_arn", sa.Text(), nullable=True),
        sa.Column("log_group", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["state_machine_name"],
            ["state_machine.name"],
            name=op.f("fk_state_machine_logging_state_machine_name_state_machine"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_machine_name", name=op.f("pk_state_machine_logging")),
    )
    op.create_table(
        "execution_log_event",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("log_group", sa.Text(), nullable=False),
        sa.Column("state_machine_name", sa.Text(), nullable=False),
        sa.Column("execution_arn", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_log_event")),
    )
    op.create_index(
        "ix_execution_log_event_once",
        "execution_log_event",
        ["execution_arn", "attempt", "event_id"],
        unique=True,
    )
    op.create_index("ix_execution_log_event_group", "execution_log_event", ["log_group", "id"], unique=False)
    op.create_index(
        "ix_execution_log_event_machine", "execution_log_event", ["state_machine_name", "id"], unique=False
    )
    op.create_table(
        "express_execution",
        sa.Column("arn", sa.Text(), nullable=False),
        sa.Column("task_queue", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state_machine_name", sa.Text(), nullable=False),
        sa.Column("state_machine_version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("role_arn", sa.Text(), nullable=True),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("log_level", sa.String(length=8), nullable=False),
        sa.Column("include_execution_data", sa.Boolean(), nullable=False),
        sa.Column("log_group", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("arn", name=op.f("pk_express_execution")),
    )
    op.create_index(
        "ix_express_execution_due", "express_execution", ["task_queue", "available_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_express_execution_due", table_name="express_execution")
    op.drop_table("express_execution")
    op.drop_index("ix_execution_log_event_machine", table_name="execution_log_event")
    op.drop_index("ix_execution_log_event_group", table_name="execution_log_event")
    op.drop_index("ix_execution_log_event_once", table_name="execution_log_event")
    op.drop_table("execution_log_event")
    op.drop_table("state_machine_logging")
