"""Schedule groups and the schedule index (``schedule_group``, ``schedule``, ``schedule_tally``), a
delivery's retry policy and dead-letter target (``event_delivery.policy``), and the trigger that
queues an execution's RUNNING status change for the event bus (``execution_started``).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STARTED = (
    "CREATE FUNCTION stepline_execution_started() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF EXISTS (SELECT 1 FROM event_rule WHERE bus_name = 'default' AND state = 'ENABLED') THEN"
    " INSERT INTO event_delivery (id, bus_name, rule_name, target_id, arn, payload, status, attempts,"
    " available_at, created_at) VALUES (gen_random_uuid()::text, 'default', '', '', '', NEW.id,"
    " 'STARTED', 0, now(), now());"
    " PERFORM pg_notify('stepline_event_deliveries', '');"
    " END IF; RETURN NULL; END $$"
)
"""A started (or redriven) execution's status change, queued in its own transaction when the default
bus has an enabled rule (one index lookup otherwise); the deliverer publishes it."""


def upgrade() -> None:
    op.add_column("event_delivery", sa.Column("policy", sa.Text(), nullable=True))
    op.create_index(
        op.f("ix_event_delivery_status_created_at"), "event_delivery", ["status", "created_at"], unique=False
    )
    op.create_table(
        "schedule_group",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_schedule_group")),
    )
    op.create_table(
        "schedule",
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("target_arn", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "name", name=op.f("pk_schedule")),
    )
    op.create_table(
        "schedule_tally",
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "name", name=op.f("pk_schedule_tally")),
    )
    op.execute(STARTED)
    op.execute(
        "CREATE TRIGGER execution_started AFTER INSERT ON execution FOR EACH ROW"
        " WHEN (NEW.status = 'RUNNING') EXECUTE FUNCTION stepline_execution_started()"
    )
    op.execute(
        "CREATE TRIGGER execution_redriven AFTER UPDATE OF status ON execution FOR EACH ROW"
        " WHEN (OLD.status <> 'RUNNING' AND NEW.status = 'RUNNING')"
        " EXECUTE FUNCTION stepline_execution_started()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER execution_redriven ON execution")
    op.execute("DROP TRIGGER execution_started ON execution")
    op.execute("DROP FUNCTION stepline_execution_started()")
    op.drop_table("schedule_tally")
    op.drop_table("schedule")
    op.drop_table("schedule_group")
    op.drop_index(op.f("ix_event_delivery_status_created_at"), table_name="event_delivery")
    op.drop_column("event_delivery", "policy")
