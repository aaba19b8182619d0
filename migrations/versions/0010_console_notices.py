"""Notices for the console's live streams: an execution leaving RUNNING, function log lines stored.

Triggers rather than code on the writers' paths: the outcome's write and the log batches stay the
statements they were, and any writer (the workflow's report, the API's own abort) is covered.
Channels and payloads: ``foundation.registry.notices``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION stepline_notify_execution_ended() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN PERFORM pg_notify('stepline_history', NEW.id); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER execution_ended AFTER UPDATE OF status ON execution FOR EACH ROW"
        " WHEN (OLD.status = 'RUNNING' AND NEW.status <> 'RUNNING')"
        " EXECUTE FUNCTION stepline_notify_execution_ended()"
    )
    op.execute(
        "CREATE FUNCTION stepline_notify_function_logs() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN PERFORM pg_notify('stepline_function_logs', name)"
        " FROM (SELECT DISTINCT function_name AS name FROM stored) AS names; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER function_logs_stored AFTER INSERT ON function_log REFERENCING NEW TABLE AS stored"
        " FOR EACH STATEMENT EXECUTE FUNCTION stepline_notify_function_logs()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER function_logs_stored ON function_log")
    op.execute("DROP FUNCTION stepline_notify_function_logs()")
    op.execute("DROP TRIGGER execution_ended ON execution")
    op.execute("DROP FUNCTION stepline_notify_execution_ended()")
