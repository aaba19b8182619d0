"""Task token use cases: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat (both front doors).

The token names the workflow that waits (``foundation.task_tokens``); the report goes to it as the
``task_token`` update, whose validator accepts it only for an open wait with the token's secret. The
answer is AWS's: InvalidToken (not one of ours), TaskDoesNotExist (no such task), TaskTimedOut (the
task has ended: timed out, completed by an earlier report, or its execution has ended).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.json_input import check_json_text
from api.state import AppState
from foundation.errors import InvalidRequest, Unavailable
from foundation.registry import executions as registry
from foundation.registry.database import unit_of_work
from foundation.registry.executions import RUNNING, ExecutionNotFound
from foundation.task_tokens import TaskToken, parse
from workers.contracts import HEARTBEAT_TAKEN, TASK_TOKEN_UPDATE, TokenUpdate

MAX_OUTPUT_BYTES = 256 * 1024
REPORT_WAIT_SECONDS = 30.0
"""How long a report waits for the workflow's worker (down: a retryable 503/ServiceUnavailable)."""


class TaskReportRefused(InvalidRequest):
    """A report the task cannot take; ``code`` is AWS's error name."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message, [{"code": code, "message": message, "location": "/taskToken"}])


async def send_success(state: AppState, token: str, output: str) -> None:
    """SendTaskSuccess: ``output`` must be JSON text (InvalidOutput otherwise)."""
    if len(output.encode()) > MAX_OUTPUT_BYTES:
        raise TaskReportRefused("InvalidOutput", "Invalid Output: the output is larger than 256 KiB")
    try:
        check_json_text(output, "/output")  # nested past the API's limit, NUL, lone surrogates
        json.loads(output)
    except InvalidRequest as exc:
        raise TaskReportRefused("InvalidOutput", f"Invalid Output: {exc.detail}") from None
    except ValueError as exc:
        raise TaskReportRefused("InvalidOutput", f"Invalid Output: the output is not JSON: {exc}") from None
    claims = parse(token)
    await _report(state, claims, TokenUpdate(claims.sequence, claims.secret, "success", output=output))


async def send_failure(state: AppState, token: str, error: str | None, cause: str | None) -> None:
    """SendTaskFailure: the Task fails with ``error`` and ``cause`` (Retry and Catch see them)."""
    claims = parse(token)
    await _report(
        state, claims, TokenUpdate(claims.sequence, claims.secret, "failure", error=error, cause=cause)
    )


async def send_heartbeat(state: AppState, token: str) -> None:
    """SendTaskHeartbeat: the Task's HeartbeatSeconds start again."""
    claims = parse(token)
    await _report(state, claims, TokenUpdate(claims.sequence, claims.secret, "heartbeat"))


async def report_started(state: AppState, token: str, worker_name: str) -> bool:
    """An activity worker took the task (ActivityStarted); False when the task has gone meanwhile."""
    claims = parse(token)
    update = TokenUpdate(claims.sequence, claims.secret, "started", worker_name=worker_name)
    try:
        await _report(state, claims, update)
    except TaskReportRefused:
        return False
    return True


async def _report(state: AppState, claims: TaskToken, update: TokenUpdate) -> None:
    handle: WorkflowHandle[Any, Any] = state.temporal.get_workflow_handle(claims.workflow_id)
    try:
        await asyncio.wait_for(handle.execute_update(TASK_TOKEN_UPDATE, update), REPORT_WAIT_SECONDS)
    except TimeoutError:
        raise Unavailable("the waiting execution's worker did not take the report in time; retry") from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == HEARTBEAT_TAKEN:
            return  # a heartbeat the task did not need recorded: it is alive, nothing to change
        if isinstance(cause, ApplicationError) and cause.type == "TaskTimedOut":
            raise TaskReportRefused(cause.type, cause.message) from None
        # TaskDoesNotExist, or a workflow that takes no task tokens at all (a forged workflow id)
        raise TaskReportRefused(
            "TaskDoesNotExist", "Task Does Not Exist: the task token matches no task"
        ) from None
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"Temporal did not deliver the report: {exc.message}") from exc
        raise await _gone(state, claims) from None


async def _gone(state: AppState, claims: TaskToken) -> TaskReportRefused:
    """No workflow takes updates: TaskTimedOut if its execution has ended, else TaskDoesNotExist."""
    try:
        async with unit_of_work(state.sessions) as session:
            row = await registry.get_execution(session, claims.execution_id)
    except ExecutionNotFound:
        return TaskReportRefused("TaskDoesNotExist", "Task Does Not Exist: the task token matches no task")
    if row.status == RUNNING and "/map/" not in claims.workflow_id:
        return TaskReportRefused("TaskDoesNotExist", "Task Does Not Exist: the task token matches no task")
    return TaskReportRefused("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
