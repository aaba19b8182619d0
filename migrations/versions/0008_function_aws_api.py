"""Functions that call this Stepline's AWS APIs from their sandbox (``aws_api``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("function", "function_version"):
        op.add_column(table, sa.Column("aws_api", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    for table in ("function_version", "function"):
        op.drop_column(table, "aws_api")
