"""Function aliases, layers and code signing (issue 14): ``function_alias``, ``layer`` and
``layer_version``, ``signing_profile`` and ``code_signing_config``; the layers and signing profile a
function's ``$LATEST`` and versions freeze, and the code-signing configuration a function names.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "function_alias",
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("function_version", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("routing", sa.JSON(), nullable=False),
        sa.Column("provisioned_concurrency", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        _ts("created_at"),
        _ts("last_modified"),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_function_alias_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("function_name", "name", name=op.f("pk_function_alias")),
    )
    op.create_table(
        "layer",
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_layer")),
    )
    op.create_table(
        "layer_version",
        sa.Column("layer_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("license_info", sa.Text(), nullable=True),
        sa.Column("compatible_runtimes", sa.JSON(), nullable=False),
        sa.Column("compatible_architectures", sa.JSON(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.BigInteger(), nullable=False),
        sa.Column("unzipped_size", sa.BigInteger(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["layer_name"], ["layer.name"], name=op.f("fk_layer_version_layer_name_layer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("layer_name", "version", name=op.f("pk_layer_version")),
    )
    op.create_table(
        "signing_profile",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("profile_version", sa.String(length=10), nullable=False),
        sa.Column("public_material", sa.Text(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_profile")),
    )
    op.create_table(
        "code_signing_config",
        sa.Column("id", sa.String(length=21), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("allowed_profiles", sa.JSON(), nullable=False),
        sa.Column("policy", sa.String(length=8), nullable=False),
        _ts("created_at"),
        _ts("last_modified"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_signing_config")),
    )
    for table in ("function", "function_version"):
        op.add_column(table, sa.Column("layers", sa.JSON(), server_default="[]", nullable=False))
        op.add_column(table, sa.Column("signing_profile_version_arn", sa.Text(), nullable=True))
    op.add_column(
        "function",
        sa.Column(
            "code_signing_config_id",
            sa.String(length=21),
            sa.ForeignKey(
                "code_signing_config.id", name=op.f("fk_function_code_signing_config_id_code_signing_config")
            ),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_function_code_signing_config_id_code_signing_config"), "function", type_="foreignkey"
    )
    op.drop_column("function", "code_signing_config_id")
    for table in ("function_version", "function"):
        op.drop_column(table, "signing_profile_version_arn")
        op.drop_column(table, "layers")
    op.drop_table("code_signing_config")
    op.drop_table("signing_profile")
    op.drop_table("layer_version")
    op.drop_table("layer")
    op.drop_table("function_alias")
