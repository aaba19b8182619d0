"""A map run's redrives: ``map_run.redrive_count`` and ``redrive_date`` (a redriven execution
continues its Distributed Map's map run, as Step Functions does, instead of starting a new one).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("map_run", sa.Column("redrive_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("map_run", sa.Column("redrive_date", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("map_run", "redrive_date")
    op.drop_column("map_run", "redrive_count")
