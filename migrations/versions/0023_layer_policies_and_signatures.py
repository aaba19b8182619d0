"""Layer version policies (``layer_version_permission``, ``layer_version.policy_revision_id``) and
the signature a layer version was published with (``layer_version.signature``).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 02:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("layer_version", sa.Column("signature", sa.JSON(), nullable=True))
    op.add_column("layer_version", sa.Column("policy_revision_id", sa.String(length=36), nullable=True))
    op.create_table(
        "layer_version_permission",
        sa.Column("layer_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=100), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_name", "version"],
            ["layer_version.layer_name", "layer_version.version"],
            name=op.f("fk_layer_version_permission_layer_name_layer_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "layer_name", "version", "statement_id", name=op.f("pk_layer_version_permission")
        ),
    )


def downgrade() -> None:
    op.drop_table("layer_version_permission")
    op.drop_column("layer_version", "policy_revision_id")
    op.drop_column("layer_version", "signature")
