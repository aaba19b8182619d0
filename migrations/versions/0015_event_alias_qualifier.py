"""Event invocations of an alias: ``function_event.qualifier`` holds Lambda's longest alias names
(128 characters; it held 32, enough for ``$LATEST`` and version numbers only).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("function_event", "qualifier", type_=sa.String(length=128), existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE function_event SET qualifier = left(qualifier, 32)")
    op.alter_column("function_event", "qualifier", type_=sa.String(length=32), existing_nullable=True)
