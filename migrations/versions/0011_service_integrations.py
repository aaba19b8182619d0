"""Service integrations (issue 13): ``service_endpoint`` (where each service's calls from Task states
go, its secret access key sealed) and ``connection`` (the HTTP Task's authorization, sealed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 22:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_endpoint",
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("access_key_id", sa.String(length=128), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_service_endpoint")),
    )
    op.create_table(
        "connection",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("authorization_type", sa.String(length=32), nullable=False),
        sa.Column("parameters_sealed", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_connection")),
    )


def downgrade() -> None:
    op.drop_table("connection")
    op.drop_table("service_endpoint")
