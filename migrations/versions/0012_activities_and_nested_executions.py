"""Activities and nested executions (issue 13): ``activity``, ``activity_task`` (tasks waiting for
GetActivityTask pollers) and ``execution_parent`` (which execution's Task state started which).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_activity")),
    )
    op.create_table(
        "activity_task",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("activity_name", sa.String(length=80), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_task")),
        sa.UniqueConstraint("token", name=op.f("uq_activity_task_token")),
    )
    op.create_index("ix_activity_task_activity_id", "activity_task", ["activity_name", "id"])
    op.create_table(
        "execution_parent",
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("parent_execution_id", sa.Text(), nullable=False),
        sa.Column("state_name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_execution_parent")),
    )
    op.create_index(
        op.f("ix_execution_parent_parent_execution_id"), "execution_parent", ["parent_execution_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_execution_parent_parent_execution_id"), table_name="execution_parent")
    op.drop_table("execution_parent")
    op.drop_index("ix_activity_task_activity_id", table_name="activity_task")
    op.drop_table("activity_task")
    op.drop_table("activity")
