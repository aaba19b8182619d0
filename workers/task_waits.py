"""The durable host's callback effects: task tokens, activity tasks and nested executions.

``TemporalHost`` inherits ``TaskWaits``; the workflows route the ``task_token`` update to it.

* A token's wait lives in the workflow's state (rebuilt by replay): its secret, its outcome, its
  heartbeats. The update's validator refuses what does not match an open wait without touching the
  history (``TaskDoesNotExist``, or ``TaskTimedOut`` for a wait that has ended), so a stray or forged
  SendTask* costs the workflow nothing; an accepted one is one update in the history.
* TimeoutSeconds and HeartbeatSeconds are durable timers (``workflow.wait_condition`` with a timeout).
* A nested execution is registered (RUNNING, with its parent) by a local activity and runs as a child
  workflow ``StateMachineExecution`` with the execution's id: abandoned when the parent closes
  (request-response, ``.waitForTaskToken``), stopped with it (``.sync``). A child of an EXPRESS
  machine is an Express execution with an Express ARN, kept nowhere: the registration queues it as an
  asynchronous one (request-response, ``.waitForTaskToken``), or the parent runs it to its end in a
  ``run_express_execution`` activity (``.sync``), cancelled if the parent stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.workflow import ActivityHandle, ChildWorkflowHandle, ParentClosePolicy

from foundation.task_tokens import TaskToken, parse
from statemachine import (
    EXECUTION_ROLE_ARN,
    EXPRESS_CHILD_SECONDS,
    JSON,
    NestedExecution,
    NestedStart,
    StatesError,
    TokenWait,
    activity_name,
    execution_arn,
    state_machine_arn,
)
from workers.contracts import (
    EXPRESS_ATTEMPTS,
    HEARTBEAT_TAKEN,
    NESTED_EXPRESS_HEARTBEAT,
    NEW_TASK_TOKEN_SECRET,
    REGISTER_CHILD_EXECUTION,
    RUN_EXPRESS_EXECUTION,
    SCHEDULE_ACTIVITY_TASK,
    STOP_SIGNAL,
    WITHDRAW_ACTIVITY_TASK,
    WORKFLOW_NAME,
    WORKFLOW_TASK_TIMEOUT,
    ActivityTaskRequest,
    ChildExecutionRegistered,
    ChildExecutionRequest,
    ExecutionInput,
    ExecutionResult,
    ExpressRunRequest,
    ExpressRunResult,
    StopRequest,
    TokenUpdate,
)

T = TypeVar("T")
LOCAL = timedelta(seconds=30)
FEW_ATTEMPTS = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
"""Registry writes retry a few times (they are idempotent); then the Task fails."""
_STATE_MACHINE_ARN = re.compile(
    r"arn:aws[\w-]*:states:[\w-]*:\d*:stateMachine:(?P<name>[A-Za-z0-9_.-]{1,80})(?::(?P<qualifier>[A-Za-z0-9_-]{1,80}))?"
)
MAX_INPUT_BYTES = 256 * 1024
NESTED_EXPRESS = "nested-express-executions"
"""The Temporal patch under which a child of an EXPRESS machine is an Express execution (queued, or
run by an activity for ``.sync``); executions that started a child before it replay as they ran
(the child a Standard-like workflow)."""
KINDS = frozenset({"success", "failure", "heartbeat", "started"})


@dataclass(slots=True)
class _Wait:
    secret: str
    last_beat: float
    """workflow time (seconds) of the issue or the last heartbeat."""
    beats: int = 0
    outcome: TokenUpdate | None = None
    worker: str | None = None
    on_started: Callable[[str], None] | None = None
    activity: ActivityTaskRequest | None = None
    waiting: bool = False
    heartbeat_seconds: float | None = None


@dataclass(slots=True)
class _WaitState:
    sequence: int = 0
    open: dict[int, _Wait] = field(default_factory=dict)
    closed: dict[int, str] = field(default_factory=dict)
    children: dict[str, ChildWorkflowHandle[object, ExecutionResult]] = field(default_factory=dict)
    express: dict[str, ActivityHandle[ExpressRunResult]] = field(default_factory=dict)
    """``.sync`` Express children running, by ARN."""


def _beat_counts(wait: _Wait) -> bool:
    """Whether a heartbeat is worth an update in the history: before the wait starts (its HeartbeatSeconds
    are not known yet), and then once half of HeartbeatSeconds has passed since the last one taken. A
    worker beating at any interval shorter than HeartbeatSeconds still has one taken within each
    HeartbeatSeconds, while one beating every second for days adds no more than two updates a period
    to the history (and none at all for a Task without HeartbeatSeconds)."""
    if not wait.waiting:
        return True
    if wait.heartbeat_seconds is None:
        return False
    return workflow.time() - wait.last_beat >= wait.heartbeat_seconds / 2


def rejected(kind: str, message: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class TaskWaits:
    """Mixed into ``TemporalHost`` (which sets ``_execution``)."""

    _execution: ExecutionInput
    __waits: _WaitState | None = None

    @property
    def _waits(self) -> _WaitState:
        if self.__waits is None:
            self.__waits = _WaitState()
        return self.__waits

    # Task tokens -----------------------------------------------------------------------------------

    async def issue_task_token(self, state_name: str) -> str:
        waits = self._waits
        waits.sequence += 1
        sequence = waits.sequence
        secret: str = await _local(NEW_TASK_TOKEN_SECRET, None, str)
        waits.open[sequence] = _Wait(secret, workflow.time())
        return TaskToken(workflow.info().workflow_id, sequence, secret).text()

    def check_token_update(self, update: TokenUpdate) -> None:
        """The update's validator: only an open wait with this secret takes it."""
        if update.kind not in KINDS:
            raise rejected("InvalidToken", f"unknown task token update {update.kind!r}")
        waits = self._waits
        wait = waits.open.get(update.sequence)
        if wait is not None and hmac.compare_digest(wait.secret, update.secret):
            if wait.outcome is None:
                if update.kind == "heartbeat" and not _beat_counts(wait):
                    raise rejected(HEARTBEAT_TAKEN, "the heartbeat changes nothing yet")
                return
        else:
            closed = waits.closed.get(update.sequence)
            if closed is None or not hmac.compare_digest(closed, update.secret):
                raise rejected("TaskDoesNotExist", "Task Does Not Exist: the task token matches no task")
        raise rejected("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")

    def deliver_token_update(self, update: TokenUpdate) -> None:
        """The update's handler (after the validator accepted it)."""
        wait = self._waits.open.get(update.sequence)
        if wait is None or wait.outcome is not None:
            return
        if update.kind == "heartbeat":
            wait.beats += 1
            wait.last_beat = workflow.time()
        elif update.kind == "started":
            if wait.worker is None:
                wait.worker = update.worker_name or ""
                wait.beats += 1
                wait.last_beat = workflow.time()
                if wait.on_started is not None:
                    wait.on_started(wait.worker)
        else:
            wait.outcome = update

    async def wait_for_task_token(self, token: str, wait: TokenWait) -> JSON:
        sequence = parse(token).sequence
        waits = self._waits
        pending = waits.open[sequence]
        pending.waiting, pending.heartbeat_seconds = True, wait.heartbeat_seconds
        if wait.on_started is not None:
            pending.on_started = wait.on_started
            if pending.worker is not None:
                wait.on_started(pending.worker)
        deadline = workflow.time() + wait.timeout_seconds
        try:
            while pending.outcome is None:
                now = workflow.time()
                left, kind = deadline - now, "States.Timeout"
                if wait.heartbeat_seconds is not None:
                    beat_left = pending.last_beat + wait.heartbeat_seconds - now
                    if beat_left < left:
                        left, kind = beat_left, "States.HeartbeatTimeout"
                if left <= 0.0005:
                    await self._withdraw(pending)
                    raise StatesError(kind, None if kind == "States.Timeout" else "no heartbeat in time")
                beats = pending.beats

                def settled(seen: int = beats) -> bool:
                    return pending.outcome is not None or pending.beats != seen

                try:
                    await workflow.wait_condition(settled, timeout=left)
                except TimeoutError:
                    continue
        finally:
            del waits.open[sequence]
            waits.closed[sequence] = pending.secret
        outcome = pending.outcome
        if outcome.kind == "failure":
            raise StatesError(outcome.error or "", outcome.cause)
        result: JSON = json.loads(outcome.output or "null")
        return result

    def close_task_token(self, token: str) -> None:
        sequence = parse(token).sequence
        waits = self._waits
        closed = waits.open.pop(sequence, None)
        if closed is not None:
            waits.closed[sequence] = closed.secret

    async def _withdraw(self, pending: _Wait) -> None:
        if pending.activity is not None and pending.worker is None:
            await _local(WITHDRAW_ACTIVITY_TASK, pending.activity, type(None))

    # Activities ------------------------------------------------------------------------------------

    async def schedule_activity_task(self, activity_arn: str, token: str, input_text: str) -> None:
        name = activity_name(activity_arn) or activity_arn
        request = ActivityTaskRequest(name, self._execution.execution_id, token, input_text)
        await _local(SCHEDULE_ACTIVITY_TASK, request, type(None))
        self._waits.open[parse(token).sequence].activity = request

    # Nested executions -----------------------------------------------------------------------------

    async def start_execution(self, request: NestedStart) -> NestedExecution:
        target = _STATE_MACHINE_ARN.fullmatch(request.state_machine_arn)
        if target is None:
            raise StatesError(
                "StepFunctions.InvalidArnException", f"Invalid Arn: '{request.state_machine_arn}'"
            )
        if len(request.input_text.encode()) > MAX_INPUT_BYTES:
            raise StatesError(
                "States.DataLimitExceeded", "The child execution's input is larger than 256 KiB"
            )
        try:
            json.loads(request.input_text)
        except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes
            raise StatesError(
                "StepFunctions.InvalidExecutionInputException", "Invalid State Machine Execution Input"
            ) from None
        machine, qualifier = target["name"], target["qualifier"]
        published = int(qualifier) if qualifier and qualifier.isdigit() else None
        alias = qualifier if qualifier and published is None else None
        express_aware = workflow.patched(NESTED_EXPRESS)
        name = request.name or str(workflow.uuid4())
        started = workflow.now()
        parent = self._execution
        registered = await _local(
            REGISTER_CHILD_EXECUTION,
            ChildExecutionRequest(
                self._execution.execution_id,
                machine,
                published,
                name,
                request.input_text,
                started.isoformat(),
                request.state_name,
                alias,
                workflow.random().uniform(0, 100) if alias else 0.0,
                str(workflow.uuid4()) if express_aware else "",
                request.wait,
                parent.region,
            ),
            ChildExecutionRegistered,
        )
        if registered.error is not None:
            raise StatesError(registered.error, registered.cause)
        if registered.express_arn:
            return self._express_child(request, registered, machine, name, started)
        child_id = f"{machine}:{name}"
        child = ExecutionInput(  # only the worker's tunables come from the parent, nothing of its run
            execution_id=child_id,
            execution_name=name,
            state_machine_name=machine,
            state_machine_version=registered.version,
            definition=registered.definition,
            input=request.input_text,
            start_time=started.isoformat(),
            role_arn=registered.role_arn or EXECUTION_ROLE_ARN,
            region=parent.region,
            local_task_max_seconds=parent.local_task_max_seconds,
            local_task_max_in_flight=parent.local_task_max_in_flight,
            default_task_timeout_seconds=parent.default_task_timeout_seconds,
            report_chunk_bytes=parent.report_chunk_bytes,
            express_heartbeat_seconds=parent.express_heartbeat_seconds,
        )
        try:
            handle = await workflow.start_child_workflow(
                WORKFLOW_NAME,
                child,
                id=child_id,
                result_type=ExecutionResult,
                parent_close_policy=ParentClosePolicy.REQUEST_CANCEL
                if request.wait
                else ParentClosePolicy.ABANDON,
                task_timeout=WORKFLOW_TASK_TIMEOUT,
            )
        except WorkflowAlreadyStartedError:
            raise StatesError(
                "StepFunctions.ExecutionAlreadyExistsException", f"Execution Already Exists: '{child_id}'"
            ) from None
        region = self._execution.region
        arn = execution_arn(machine, name, region)
        self._waits.children[arn] = handle
        return NestedExecution(arn, name, state_machine_arn(machine, region), request.input_text, started)

    def _express_child(
        self,
        request: NestedStart,
        registered: ChildExecutionRegistered,
        machine: str,
        name: str,
        started: datetime,
    ) -> NestedExecution:
        """An EXPRESS machine's child: queued already (fire and forget, ``.waitForTaskToken``), or
        run now by a ``run_express_execution`` activity that ``await_execution`` awaits (``.sync``)."""
        region, arn = self._execution.region, registered.express_arn
        if request.wait:
            run = ExpressRunRequest(
                arn, name, machine, registered.definition, request.input_text, started.isoformat(),
                registered.role_arn or EXECUTION_ROLE_ARN, region, registered.log_level,
                registered.include_execution_data, registered.log_group,
            )  # fmt: skip
            self._waits.express[arn] = workflow.start_activity(
                RUN_EXPRESS_EXECUTION,
                run,
                result_type=ExpressRunResult,
                start_to_close_timeout=timedelta(seconds=EXPRESS_CHILD_SECONDS) + NESTED_EXPRESS_HEARTBEAT,
                heartbeat_timeout=NESTED_EXPRESS_HEARTBEAT,
                retry_policy=RetryPolicy(maximum_attempts=EXPRESS_ATTEMPTS),
                summary=f"{request.state_name}: Express execution {name}",
            )
        return NestedExecution(arn, name, state_machine_arn(machine, region), request.input_text, started)

    async def _await_express(
        self,
        execution: NestedExecution,
        handle: ActivityHandle[ExpressRunResult],
        timeout_seconds: float | None,
    ) -> NestedExecution:
        """A ``.sync`` Express child's end; cancelling the wait (the parent stops) cancels it."""
        try:
            await workflow.wait_condition(handle.done, timeout=timeout_seconds)
        except TimeoutError:
            raise StatesError("States.Timeout", None) from None
        except asyncio.CancelledError:
            handle.cancel()
            raise
        try:
            result = handle.result()
        except ActivityError as exc:  # its worker kept dying, or a bug
            cause = f"the Express execution did not end: {exc.cause or exc}"
            return replace(
                execution, status="FAILED", error="States.Runtime", cause=cause, stop_date=workflow.now()
            )
        return _ended(execution, result, datetime.fromisoformat(result.stop_time))

    async def await_execution(
        self, execution: NestedExecution, timeout_seconds: float | None
    ) -> NestedExecution:
        express = self._waits.express.get(execution.execution_arn)
        if express is not None:
            return await self._await_express(execution, express, timeout_seconds)
        handle = self._waits.children[execution.execution_arn]
        try:
            await workflow.wait_condition(handle.done, timeout=timeout_seconds)
        except TimeoutError:
            raise StatesError("States.Timeout", None) from None
        except asyncio.CancelledError:  # the parent is stopping: so does its .sync child
            if not handle.done():
                with contextlib.suppress(FailureError):  # it ended in between
                    await handle.signal(STOP_SIGNAL, StopRequest(cause="The parent execution was stopped"))
            raise
        try:
            result = handle.result()
        except ChildWorkflowError as exc:  # it failed rather than report (a bug, or terminated)
            cause = str(exc.cause or exc)
            return replace(
                execution, status="FAILED", error="States.Runtime", cause=cause, stop_date=workflow.now()
            )
        return _ended(execution, result, workflow.now())


async def _local(name: str, argument: object, result_type: type[T]) -> T:
    """A registry local activity (retried a few times); its failure fails the Task, never the workflow:
    an ``ApplicationError``'s type is the ASL error (``schedule_activity_task``: no such activity)."""
    args = [] if argument is None else [argument]
    try:
        result: T = await workflow.execute_local_activity(
            name, args=args, result_type=result_type, start_to_close_timeout=LOCAL, retry_policy=FEW_ATTEMPTS
        )
    except (ActivityError, ApplicationError) as exc:
        cause = exc.cause if isinstance(exc, ActivityError) else exc
        if isinstance(cause, ApplicationError) and cause.type:
            raise StatesError(cause.type, cause.message) from None
        raise StatesError("States.Runtime", f"{name} failed: {cause or exc}") from None
    return result


def _ended(
    execution: NestedExecution, result: ExpressRunResult | ExecutionResult, stop_date: datetime
) -> NestedExecution:
    """``execution`` as its run ended (status, output, error and cause from ``result``)."""
    return replace(
        execution,
        status=result.status,
        output_text=result.output,
        error=result.error,
        cause=result.cause,
        stop_date=stop_date,
    )
