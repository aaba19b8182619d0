"""Worker endpoints: where each live worker's invoke endpoint listens (``foundation.registry.workers``),
so that an API process without a function runtime hands direct invocations to one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_endpoint",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("unix_path", sa.Text(), nullable=True),
        sa.Column("tcp_address", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_endpoint")),
    )
    op.create_index(
        op.f("ix_worker_endpoint_heartbeat_at"), "worker_endpoint", ["heartbeat_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_endpoint_heartbeat_at"), table_name="worker_endpoint")
    op.drop_table("worker_endpoint")
