"""File-system event sources' snapshots (``event_source_object``) and mappings' own brokers
(``event_source_mapping.broker_sealed`` / ``broker_summary``).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 03:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_source_object",
        sa.Column("mapping_uuid", sa.String(length=36), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mapping_uuid"],
            ["event_source_mapping.uuid"],
            name=op.f("fk_event_source_object_mapping_uuid_event_source_mapping"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mapping_uuid", "key", name=op.f("pk_event_source_object")),
    )
    op.add_column("event_source_mapping", sa.Column("broker_sealed", sa.Text(), nullable=True))
    op.add_column("event_source_mapping", sa.Column("broker_summary", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("event_source_mapping", "broker_summary")
    op.drop_column("event_source_mapping", "broker_sealed")
    op.drop_table("event_source_object")
