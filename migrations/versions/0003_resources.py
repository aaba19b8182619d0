"""Resources functions attach: database proxies, file systems, access points.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "db_proxy",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("target_sealed", sa.Text(), nullable=False),
        sa.Column("target_summary", sa.Text(), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=False),
        sa.Column("borrow_timeout", sa.Float(), nullable=False),
        sa.Column("idle_timeout", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_db_proxy")),
    )
    op.create_table(
        "file_system",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_file_system")),
    )
    op.create_table(
        "access_point",
        sa.Column("file_system_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("root_directory", sa.Text(), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("gid", sa.Integer(), nullable=False),
        sa.Column("permissions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_system_name"],
            ["file_system.name"],
            name=op.f("fk_access_point_file_system_name_file_system"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_system_name", "name", name=op.f("pk_access_point")),
    )


def downgrade() -> None:
    op.drop_table("access_point")
    op.drop_table("file_system")
    op.drop_table("db_proxy")
