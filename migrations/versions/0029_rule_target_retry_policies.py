"""A rule target's RetryPolicy and DeadLetterConfig (``event_target.policy``, JSON text).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("event_target", sa.Column("policy", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("event_target", "policy")
