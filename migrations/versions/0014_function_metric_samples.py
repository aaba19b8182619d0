"""Function errors and throttles over time: samples of the runtime's counters (``function_metric_sample``).

Written by a background task of each process running functions (``workers.functions.metric_samples``),
never by an invocation.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "function_metric_sample",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("function_name", sa.String(length=64), nullable=False),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("throttles", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_metric_sample")),
    )
    op.create_index(
        "ix_function_metric_sample_function_time",
        "function_metric_sample",
        ["function_name", "sampled_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_function_metric_sample_function_time", table_name="function_metric_sample")
    op.drop_table("function_metric_sample")
