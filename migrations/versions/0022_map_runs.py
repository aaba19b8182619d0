"""Map runs of Distributed Map states (``map_run``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "map_run",
        sa.Column("map_run_arn", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("tolerated_failure_count", sa.Integer(), nullable=False),
        sa.Column("tolerated_failure_percentage", sa.Float(), nullable=False),
        sa.Column("item_counts", sa.JSON(), nullable=False),
        sa.Column("execution_counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("map_run_arn", name=op.f("pk_map_run")),
    )
    op.create_index(op.f("ix_map_run_execution_id"), "map_run", ["execution_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_map_run_execution_id"), table_name="map_run")
    op.drop_table("map_run")
