"""The code-signing configuration a function names moves to a table of its own, ``function_code_signing``
(``foundation.registry.code_signing``): as a column of ``function`` with a foreign key to
``code_signing_config``, a process that had loaded the functions' module but not code signing's could
not write a function (SQLAlchemy could not resolve the key's table).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "function_code_signing",
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("config_id", sa.String(length=21), nullable=False),
        sa.ForeignKeyConstraint(
            ["config_id"],
            ["code_signing_config.id"],
            name=op.f("fk_function_code_signing_config_id_code_signing_config"),
        ),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_function_code_signing_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("function_name", name=op.f("pk_function_code_signing")),
    )
    op.execute(
        "INSERT INTO function_code_signing (function_name, config_id) "
        "SELECT name, code_signing_config_id FROM function WHERE code_signing_config_id IS NOT NULL"
    )
    op.drop_constraint(
        op.f("fk_function_code_signing_config_id_code_signing_config"), "function", type_="foreignkey"
    )
    op.drop_column("function", "code_signing_config_id")


def downgrade() -> None:
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
    op.execute(
        "UPDATE function SET code_signing_config_id = s.config_id FROM function_code_signing s "
        "WHERE s.function_name = function.name"
    )
    op.drop_table("function_code_signing")
