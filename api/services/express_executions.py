"""Starting an asynchronous Express execution: StartExecution of an EXPRESS machine.

Nothing runs here: the execution is queued durably (``foundation.registry.express_executions``) with
the version it runs and the machine's logging configuration as of now, and a worker runs it
(``workers.express``). Its ARN has Express's form, ``...:express:MACHINE:NAME:RUN_ID``; names are not
unique among Express executions (a second start with the same name is another execution). No history
is kept: DescribeExecution and GetExecutionHistory refuse Express ARNs, as Step Functions does; the
execution's log events (``GET /v1/execution-logs``) are how it is followed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from api import schemas
from api.state import AppState
from foundation.errors import InvalidRequest
from foundation.registry import express_executions as queue
from foundation.registry.executions import Registered
from statemachine import check_start, express_execution_arn


async def start(
    state: AppState,
    machine: str,
    found: Registered,
    name: str | None,
    input_text: str,
    start_date: datetime,
    *,
    published: int | None = None,
    alias: str | None = None,
) -> schemas.ExecutionStarted:
    """Queue an execution of the version ``found`` read; its ARN is its id."""
    refused = check_start(found.machine_type, input_text, sync=False)
    if refused is not None:
        raise InvalidRequest(f"{refused.code}: {refused.message}", [{"location": "/", "code": refused.code}])
    name = name or str(uuid.uuid4())
    arn = express_execution_arn(machine, name, str(uuid.uuid4()), state.settings.region)
    async with state.sessions() as session:  # one statement, outside a transaction block
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await queue.start(
            session, arn, state.settings.temporal.task_queue, name, machine, found.version, found.definition,
            found.role_arn, input_text, start_date,
        )  # fmt: skip
    state.metrics.executions_started.labels("EXPRESS").inc()
    return schemas.ExecutionStarted(
        execution_id=arn,
        execution_arn=arn,
        name=name,
        state_machine=machine,
        version=found.version,
        start_date=start_date,
        status="RUNNING",
        alias=alias,
        published_version=published,
    )
