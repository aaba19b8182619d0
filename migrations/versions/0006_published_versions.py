"""Published state machine versions (Step Functions' versions), the role a version names, and the
published version an execution was started as.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "state_machine",
        sa.Column("last_published_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("state_machine_version", sa.Column("role_arn", sa.Text(), nullable=True))
    op.add_column("state_machine_version", sa.Column("published_version", sa.Integer(), nullable=True))
    op.add_column(
        "state_machine_version", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_state_machine_version_published",
        "state_machine_version",
        ["state_machine_name", "published_version"],
        unique=True,
    )
    op.add_column("execution", sa.Column("published_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("execution", "published_version")
    op.drop_index("ix_state_machine_version_published", table_name="state_machine_version")
    op.drop_column("state_machine_version", "published_at")
    op.drop_column("state_machine_version", "published_version")
    op.drop_column("state_machine_version", "role_arn")
    op.drop_column("state_machine", "last_published_version")
