"""Event source mappings (``event_source_mapping``): a queue or a stream read in batches by one
worker (its lease) and handed to a function.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_source_mapping",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("qualifier", sa.String(length=128), nullable=True),
        sa.Column("source_arn", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batching_window_seconds", sa.Integer(), nullable=False),
        sa.Column("starting_position", sa.String(length=16), nullable=True),
        sa.Column("starting_timestamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parallelization_factor", sa.Integer(), nullable=False),
        sa.Column("report_item_failures", sa.Boolean(), nullable=False),
        sa.Column("bisect_on_error", sa.Boolean(), nullable=False),
        sa.Column("maximum_retry_attempts", sa.Integer(), nullable=False),
        sa.Column("maximum_record_age_seconds", sa.Integer(), nullable=False),
        sa.Column("on_failure", sa.Text(), nullable=True),
        sa.Column("filter_criteria", sa.JSON(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_result", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("leader", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_event_source_mapping_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_event_source_mapping")),
    )
    op.create_index(
        op.f("ix_event_source_mapping_function_name"), "event_source_mapping", ["function_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_event_source_mapping_function_name"), table_name="event_source_mapping")
    op.drop_table("event_source_mapping")
