"""A function's deployment being prepared: ``function.pending`` (``Creating``/``Updating``) and
``pending_until`` (Lambda's Pending state and LastUpdateStatus InProgress, while an image function's
environment is prepared).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("function", sa.Column("pending", sa.String(length=16), nullable=True))
    op.add_column("function", sa.Column("pending_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("function", "pending_until")
    op.drop_column("function", "pending")
