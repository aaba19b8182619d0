"""Outputs of a Distributed Map's child runs that succeeded in the parent's own run
(``map_run_output``), kept so that a redrive does not run them again.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "map_run_output",
        sa.Column("execution_arn", sa.Text(), nullable=False),
        sa.Column("state_name", sa.Text(), nullable=False),
        sa.Column("item_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("execution_arn", "state_name", "item_index", name=op.f("pk_map_run_output")),
    )


def downgrade() -> None:
    op.drop_table("map_run_output")
