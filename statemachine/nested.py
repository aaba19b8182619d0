"""Task states starting executions of other state machines (``arn:aws:states:::states:startExecution``).

* request-response: the child is started; the result is ``{ExecutionArn, StartDate}``.
* ``.sync``: the Task waits for the child; the result is DescribeExecution's answer with ``Input`` and
  ``Output`` as JSON text; ``.sync:2``: the same with them as JSON. A child that does not succeed
  fails the Task with ``States.TaskFailed``, the cause being that answer as JSON text. Stopping the
  parent stops a ``.sync`` child.
* ``.waitForTaskToken``: the child is started, then the Task waits for its token
  (``statemachine.callbacks``).

Parameters: ``StateMachineArn`` (a state machine, version or alias ARN), ``Input`` (JSON, or JSON text),
``Name``. A child whose input holds ``AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`` (usually
``"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"``) is linked to its parent, as in
AWS; Stepline records the link for every child it starts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol, runtime_checkable

from statemachine import callbacks, dataflow, ir
from statemachine.arns import region_of
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import runtime_fault
from statemachine.history import NOT_TRUNCATED
from statemachine.json_types import JSON

START_EXECUTION: Final = "arn:aws:states:::states:startExecution"
PATTERNS: Final = ("", ".sync", ".sync:2", callbacks.WAIT_FOR_TASK_TOKEN)
STARTED_BY: Final = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,80}")
"""Execution names Stepline takes (as StartExecution on both front doors)."""


@dataclass(frozen=True, slots=True)
class NestedStart:
    """One StartExecution from a Task state."""

    state_machine_arn: str
    input_text: str
    name: str | None
    """None: the host names it (a fresh uuid)."""
    wait: bool
    """``.sync``/``.sync:2``: the parent waits, and stopping the parent stops the child."""
    state_name: str


@dataclass(frozen=True, slots=True)
class NestedExecution:
    """A child execution as DescribeExecution tells it."""

    execution_arn: str
    name: str
    state_machine_arn: str
    input_text: str
    start_date: datetime
    status: str = "RUNNING"
    output_text: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: datetime | None = None


@runtime_checkable
class NestedHost(Protocol):
    """Starts and awaits child executions (the durable host implements it)."""

    async def start_execution(self, request: NestedStart) -> NestedExecution:
        """Start it; ``StatesError`` (``StepFunctions.StateMachineDoesNotExistException``,
        ``StepFunctions.ExecutionAlreadyExistsException``, ...) when it cannot be."""
        ...

    async def await_execution(
        self, execution: NestedExecution, timeout_seconds: float | None
    ) -> NestedExecution:
        """The child once it has ended (``States.Timeout`` after ``timeout_seconds``); cancelling the
        wait stops the child."""
        ...


def pattern_of(resource: str) -> str | None:
    """``""``, ``.sync``, ``.sync:2`` or ``.waitForTaskToken`` for a startExecution resource; else None."""
    for pattern in PATTERNS:
        if resource == START_EXECUTION + pattern:
            return pattern
    return None


def _start_request(parameters: JSON, pattern: str, state_name: str) -> NestedStart:
    if not isinstance(parameters, dict) or not isinstance(parameters.get("StateMachineArn"), str):
        raise StatesError(
            "States.Runtime",
            "The field 'StateMachineArn' is required by the states:startExecution integration "
            "and must be a string.",
        )
    name = parameters.get("Name")
    if name is not None and not isinstance(name, str):
        raise StatesError("States.Runtime", "The field 'Name' of states:startExecution must be a string.")
    if name is not None and _NAME.fullmatch(name) is None:
        raise StatesError("StepFunctions.InvalidNameException", f"Invalid Name: '{name}'")
    given = parameters.get("Input")
    input_text = "{}" if given is None else given if isinstance(given, str) else dataflow.dumps(given)
    arn = str(parameters["StateMachineArn"])
    return NestedStart(arn, input_text, name, pattern in (".sync", ".sync:2"), state_name)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def described(execution: NestedExecution, as_json: bool) -> dict[str, JSON]:
    """DescribeExecution's answer, as a ``.sync`` (text) or ``.sync:2`` (``as_json``) Task returns it."""
    out: dict[str, JSON] = {
        "ExecutionArn": execution.execution_arn,
        "Input": _value(execution.input_text, as_json),
        "InputDetails": {"Included": True},
        "Name": execution.name,
    }
    if execution.output_text is not None:
        out["Output"] = _value(execution.output_text, True)
        if not as_json:  # as AWS writes it: compact JSON text
            out["Output"] = dataflow.dumps(out["Output"])
        out["OutputDetails"] = {"Included": True}
    if execution.error is not None:
        out["Error"] = execution.error
    if execution.cause is not None:
        out["Cause"] = execution.cause
    out.update(
        {
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "StartDate": _millis(execution.start_date),
            "StateMachineArn": execution.state_machine_arn,
            "Status": execution.status,
        }
    )
    if execution.stop_date is not None:
        out["StopDate"] = _millis(execution.stop_date)
    return out


def _value(text: str, as_json: bool) -> JSON:
    if not as_json:
        return text
    try:
        decoded: JSON = json.loads(text)
    except ValueError:
        return text
    return decoded


async def run_start_execution(
    state: ir.Task,
    pattern: str,
    parameters: JSON,
    frame: Frame,
    ctx: StateContext,
    timeout_seconds: int | None,
    heartbeat: int | None,
) -> JSON:
    """Run a ``states:startExecution[.sync[:2]|.waitForTaskToken]`` Task; returns its result."""
    host = frame.run.host
    if not isinstance(host, NestedHost):
        raise runtime_fault(
            f"The resource '{state.resource}' cannot run here: "
            "only Standard executions start other executions."
        )
    base = {"resource": "startExecution" + pattern, "resourceType": "states"}
    details: dict[str, JSON] = {
        **base,
        "region": region_of(frame.run.context.execution_id),
        "parameters": parameters,
    }
    if timeout_seconds is not None:
        details["timeoutInSeconds"] = timeout_seconds
    if heartbeat is not None:
        details["heartbeatInSeconds"] = heartbeat
    frame.record("TaskScheduled", "taskScheduledEventDetails", details)
    frame.record("TaskStarted", "taskStartedEventDetails", dict(base))

    async def start() -> NestedExecution:
        try:
            return await host.start_execution(_start_request(parameters, pattern, state.name))
        except StatesError as error:
            _record_failure(frame, base, error)
            raise

    if pattern == callbacks.WAIT_FOR_TASK_TOKEN:

        async def call() -> JSON:
            child = await start()
            return {"ExecutionArn": child.execution_arn, "StartDate": _millis(child.start_date)}

        return await callbacks.wait_for_token(
            state.resource, base, call, frame, ctx, timeout_seconds, heartbeat
        )
    child = await start()
    started: dict[str, JSON] = {"ExecutionArn": child.execution_arn, "StartDate": _millis(child.start_date)}
    if not pattern:
        _record_success(frame, base, started)
        return started
    frame.record(
        "TaskSubmitted",
        "taskSubmittedEventDetails",
        {**base, "output": started, "outputDetails": NOT_TRUNCATED},
    )
    try:
        ended = await host.await_execution(
            child, float(timeout_seconds) if timeout_seconds is not None else None
        )
    except StatesError as error:
        _record_failure(frame, base, error)
        raise
    output = described(ended, pattern == ".sync:2")
    if ended.status != "SUCCEEDED":
        failed = StatesError("States.TaskFailed", dataflow.dumps(output))
        _record_failure(frame, base, failed)
        raise failed
    _record_success(frame, base, output)
    return output


def _record_success(frame: Frame, base: dict[str, str], output: JSON) -> None:
    frame.record(
        "TaskSucceeded",
        "taskSucceededEventDetails",
        {**base, "output": output, "outputDetails": NOT_TRUNCATED},
    )


def _record_failure(frame: Frame, base: dict[str, str], error: StatesError) -> None:
    details: dict[str, JSON] = {**base, "error": error.name}
    if error.cause is not None:
        details["cause"] = error.cause
    timed_out = error.name in callbacks.TIMEOUTS
    frame.record(
        "TaskTimedOut" if timed_out else "TaskFailed",
        "taskTimedOutEventDetails" if timed_out else "taskFailedEventDetails",
        details,
    )
