"""Container-image functions (issue 14): ``container_image`` and ``container_image_tag``, and the
package type, ImageUri and ImageConfig that a function's ``$LATEST`` and versions freeze.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "container_image",
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("layers", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_container_image")),
    )
    op.create_table(
        "container_image_tag",
        sa.Column("repository", sa.String(length=256), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"], ["container_image.digest"], name=op.f("fk_container_image_tag_digest_container_image")
        ),
        sa.PrimaryKeyConstraint("repository", "tag", name=op.f("pk_container_image_tag")),
    )
    for table in ("function", "function_version"):
        op.add_column(
            table, sa.Column("package_type", sa.String(length=8), server_default="Zip", nullable=False)
        )
        op.add_column(table, sa.Column("image_uri", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("image_config", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    for table in ("function_version", "function"):
        op.drop_column(table, "image_config")
        op.drop_column(table, "image_uri")
        op.drop_column(table, "package_type")
    op.drop_table("container_image_tag")
    op.drop_table("container_image")
