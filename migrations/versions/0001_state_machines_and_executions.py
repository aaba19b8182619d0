"""State machines, their versions, executions and finished executions" history.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 10:58:35.572786
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "execution",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("state_machine_name", sa.String(length=80), nullable=False),
        sa.Column("state_machine_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop_date", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution")),
    )
    op.create_index("ix_execution_start", "execution", ["start_date"], unique=False)
    op.create_index(
        "ix_execution_state_machine_start", "execution", ["state_machine_name", "start_date"], unique=False
    )
    op.create_index("ix_execution_status_start", "execution", ["status", "start_date"], unique=False)
    op.create_table(
        "state_machine",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_state_machine")),
    )
    op.create_table(
        "execution_history_event",
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event", postgresql.JSON(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["execution.id"],
            name=op.f("fk_execution_history_event_execution_id_execution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "event_id", name=op.f("pk_execution_history_event")),
    )
    op.create_table(
        "state_machine_version",
        sa.Column("state_machine_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["state_machine_name"],
            ["state_machine.name"],
            name=op.f("fk_state_machine_version_state_machine_name_state_machine"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_machine_name", "version", name=op.f("pk_state_machine_version")),
    )


def downgrade() -> None:
    op.drop_table("state_machine_version")
    op.drop_table("execution_history_event")
    op.drop_table("state_machine")
    op.drop_index("ix_execution_status_start", table_name="execution")
    op.drop_index("ix_execution_state_machine_start", table_name="execution")
    op.drop_index("ix_execution_start", table_name="execution")
    op.drop_table("execution")
