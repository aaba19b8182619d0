"""Asynchronous invocation settings (``function_event_invoke_config``), the outbox of invocation
records bound for a destination (``function_destination_delivery``) and function URLs
(``function_url_config``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "function_event_invoke_config",
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("maximum_retry_attempts", sa.Integer(), nullable=True),
        sa.Column("maximum_event_age_seconds", sa.Integer(), nullable=True),
        sa.Column("on_success", sa.Text(), nullable=True),
        sa.Column("on_failure", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_function_event_invoke_config_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("function_name", "qualifier", name=op.f("pk_function_event_invoke_config")),
    )
    op.create_table(
        "function_destination_delivery",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_destination_delivery")),
    )
    op.create_table(
        "function_url_config",
        sa.Column("url_id", sa.String(length=32), nullable=False),
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=False),
        sa.Column("auth_type", sa.String(length=16), nullable=False),
        sa.Column("cors", sa.JSON(), nullable=True),
        sa.Column("invoke_mode", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_function_url_config_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("url_id", name=op.f("pk_function_url_config")),
        sa.UniqueConstraint("function_name", "qualifier", name=op.f("uq_function_url_config_function_name")),
    )


def downgrade() -> None:
    op.drop_table("function_url_config")
    op.drop_table("function_destination_delivery")
    op.drop_table("function_event_invoke_config")
