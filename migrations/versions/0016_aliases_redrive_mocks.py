"""State machine aliases, redrive and mock configurations (issue 13): ``state_machine_alias``
(weighted routing between published versions), ``execution.alias_name`` (the alias an execution was
started through), ``execution.redrive_count`` / ``execution.redrive_date``, and
``mock_configuration`` (the Step Functions Local MockConfigFile the operator loaded).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "state_machine_alias",
        sa.Column("state_machine_name", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("routing", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["state_machine_name"],
            ["state_machine.name"],
            name=op.f("fk_state_machine_alias_state_machine_name_state_machine"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_machine_name", "name", name=op.f("pk_state_machine_alias")),
    )
    op.add_column("execution", sa.Column("alias_name", sa.Text(), nullable=True))
    op.add_column("execution", sa.Column("redrive_count", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("execution", sa.Column("redrive_date", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "mock_configuration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mock_configuration")),
    )


def downgrade() -> None:
    op.drop_table("mock_configuration")
    op.drop_column("execution", "redrive_date")
    op.drop_column("execution", "redrive_count")
    op.drop_column("execution", "alias_name")
    op.drop_table("state_machine_alias")
