"""RedriveExecution: an execution that FAILED, TIMED_OUT or was ABORTED continues from the state
that did not succeed (``statemachine.redrive``), as the same execution, on a new run of its
workflow (same workflow id), with the same definition version and input.

Rules, as Step Functions states them: STANDARD executions only; within 14 days of the start; not
while RUNNING or once SUCCEEDED; not once its state machine is gone. The row goes back to RUNNING
(``redrive_count`` one more) in the same statement that checks its status, so two redrives at once
start one attempt; if the workflow cannot be started, the outcome is put back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.services.map_redrive import chunked_done
from api.state import AppState
from foundation.errors import Unavailable
from foundation.registry import executions as registry
from foundation.registry.database import unit_of_work
from foundation.registry.executions import Execution, ExecutionNotRedrivable
from foundation.registry.state_machines import StateMachineNotFound, get_state_machine
from statemachine import EXECUTION_ROLE_ARN, Map, execution_arn, resume_point
from workers.contracts import WORKFLOW_NAME, ExecutionInput
from workers.host import program_of

REDRIVABLE = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
REDRIVE_PERIOD = timedelta(days=14)
MAX_EVENTS = 1_000_000
START_TRIES = 50
"""The last attempt's workflow closes a few milliseconds after it records its outcome: a redrive in
that window waits for it (0.1 s a try)."""


def not_redrivable_reason(row: Execution, machine_type: str | None, now: datetime) -> str | None:
    """Why ``row`` cannot be redriven now (``redriveStatusReason``); None when it can.
    ``machine_type`` None: its state machine is gone."""
    if machine_type is None:
        return "State machine is in DELETING status"
    if machine_type != "STANDARD":
        return "Execution is of an EXPRESS state machine and cannot be redriven"
    if row.status not in REDRIVABLE:
        return f"Execution is {row.status} and cannot be redriven"
    if now - row.start_date > REDRIVE_PERIOD:
        return "Execution redrivable period exceeded"
    return None


async def redrive(state: AppState, execution_id: str) -> Execution:
    """See the module docstring; the execution as it is now (RUNNING).

    Raises:
        ExecutionNotFound: no such execution.
        ExecutionNotRedrivable: with Step Functions' reason.
        Unavailable: Temporal did not start the new attempt (nothing changed).
    """
    now = datetime.now(UTC)
    async with unit_of_work(state.sessions) as session:
        row = await registry.get_execution(session, execution_id)
        try:
            machine, version = await get_state_machine(
                session, row.state_machine_name, row.state_machine_version
            )
        except StateMachineNotFound:
            raise ExecutionNotRedrivable(execution_id, "State machine is in DELETING status") from None
        reason = not_redrivable_reason(row, machine.type, now)
        if reason is not None:
            raise ExecutionNotRedrivable(execution_id, reason)
        events = await registry.history_page(session, execution_id, MAX_EVENTS, None, False)
        before = row.model_copy()
        program = program_of(version.definition)
        resume = resume_point(program, events, json.loads(row.input), row.redrive_count + 1)
        if isinstance(program.block.states.get(resume.state), Map):  # iterations run in chunks
            arn = execution_arn(row.state_machine_name, row.name, state.settings.region)
            kept = await chunked_done(state, execution_id, arn, resume.state)
            resume = dataclasses.replace(resume, done={**kept, **resume.done})
        redriven = await registry.start_redrive(session, execution_id, row.status, now)
        if redriven is None:
            raise ExecutionNotRedrivable(execution_id, "Execution is RUNNING and cannot be redriven")
        redriven = redriven.model_copy()
    execution = ExecutionInput(
        execution_id=row.id,
        execution_name=row.name,
        state_machine_name=row.state_machine_name,
        state_machine_version=version.version,
        definition=version.definition,
        input=row.input,
        start_time=row.start_date.isoformat(),
        role_arn=version.role_arn or EXECUTION_ROLE_ARN,
        region=state.settings.region,
        express_heartbeat_seconds=state.settings.worker.express_heartbeat_seconds,
        redrive=json.dumps(resume.to_json()),
    )
    try:
        await _start(state, execution)
    except Unavailable:
        async with unit_of_work(state.sessions) as session:
            await registry.undo_redrive(session, before)
        raise
    return redriven


async def _start(state: AppState, execution: ExecutionInput) -> None:
    for _ in range(START_TRIES):
        try:
            await state.temporal.start_workflow(
                WORKFLOW_NAME,
                execution,
                id=execution.execution_id,
                task_queue=state.settings.temporal.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                task_timeout=state.settings.temporal.workflow_task_timeout,
            )
            return
        except WorkflowAlreadyStartedError:
            await asyncio.sleep(0.1)  # the last attempt's workflow is closing
        except RPCError as exc:
            raise Unavailable(f"Temporal did not start the redriven attempt: {exc.message}") from exc
    raise Unavailable("the execution's last attempt is still closing; try the redrive again")
