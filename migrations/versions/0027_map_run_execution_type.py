"""A map run's child execution type (``map_run.execution_type``: ProcessorConfig.ExecutionType).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "map_run",
        sa.Column("execution_type", sa.String(length=16), server_default="STANDARD", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("map_run", "execution_type")
