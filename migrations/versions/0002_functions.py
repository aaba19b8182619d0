"""Functions, published versions, invocation logs and queued Event invocations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:12:10.545209
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "function",
        sa.Column("runtime", sa.String(length=32), nullable=False),
        sa.Column("handler", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("memory_size", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("ephemeral_storage", sa.Integer(), nullable=False),
        sa.Column("network", sa.Boolean(), nullable=False),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("file_system_configs", sa.JSON(), nullable=False),
        sa.Column("db_proxies", sa.JSON(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("reserved_concurrency", sa.Integer(), nullable=True),
        sa.Column("provisioned_concurrency", sa.Integer(), nullable=False),
        sa.Column("latest_published", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_function")),
    )
    op.create_table(
        "function_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("function_name", sa.String(length=64), nullable=False),
        sa.Column("qualifier", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("function_error", sa.String(length=128), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_event")),
    )
    op.create_index(
        "ix_function_event_status_available", "function_event", ["status", "available_at"], unique=False
    )
    op.create_table(
        "function_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("function_name", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_log")),
    )
    op.create_index(
        "ix_function_log_function_time", "function_log", ["function_name", "timestamp"], unique=False
    )
    op.create_index("ix_function_log_request", "function_log", ["request_id"], unique=False)
    op.create_table(
        "function_version",
        sa.Column("runtime", sa.String(length=32), nullable=False),
        sa.Column("handler", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("memory_size", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("ephemeral_storage", sa.Integer(), nullable=False),
        sa.Column("network", sa.Boolean(), nullable=False),
        sa.Column("environment", sa.JSON(), nullable=False),
        sa.Column("file_system_configs", sa.JSON(), nullable=False),
        sa.Column("db_proxies", sa.JSON(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("code_size", sa.Integer(), nullable=False),
        sa.Column("function_name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_name"],
            ["function.name"],
            name=op.f("fk_function_version_function_name_function"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("function_name", "version", name=op.f("pk_function_version")),
    )


def downgrade() -> None:
    op.drop_table("function_version")
    op.drop_index("ix_function_log_request", table_name="function_log")
    op.drop_index("ix_function_log_function_time", table_name="function_log")
    op.drop_table("function_log")
    op.drop_index("ix_function_event_status_available", table_name="function_event")
    op.drop_table("function_event")
    op.drop_table("function")
