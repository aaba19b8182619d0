"""Each process's db proxy pools, reported every few seconds (``db_proxy_pool_report``), so that the API
can show a proxy's pools wherever they run.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "db_proxy_pool_report",
        sa.Column("proxy_name", sa.String(length=64), nullable=False),
        sa.Column("process", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("busy", sa.Integer(), nullable=False),
        sa.Column("idle", sa.Integer(), nullable=False),
        sa.Column("waiters", sa.Integer(), nullable=False),
        sa.Column("borrows", sa.BigInteger(), nullable=False),
        sa.Column("borrow_timeouts", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("proxy_name", "process", name=op.f("pk_db_proxy_pool_report")),
    )


def downgrade() -> None:
    op.drop_table("db_proxy_pool_report")
