"""The durable ``statemachine.host.Host``: Temporal's clock, randomness, timers and activities.

Kept thin on purpose; every ASL rule (Retry, Catch, timeouts, history) lives in the interpreter.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    TimeoutError,
    TimeoutType,
)
from temporalio.workflow import ChildWorkflowHandle

from statemachine import (
    EXPRESS_CHILD_SECONDS,
    FunctionCall,
    FunctionResult,
    HistoryEvent,
    IterationOutcome,
    MapChunk,
    MapRunReport,
    MapRunTracker,
    Program,
    ServiceCall,
    StatesError,
    load_program,
    outcomes_from_json,
)
from workers import history_notices
from workers.contracts import (
    CALL_SERVICE,
    CHUNK_CONCURRENCY_SIGNAL,
    EXPRESS_ATTEMPTS,
    INVOKE_FUNCTION,
    MAP_CHUNK_WORKFLOW,
    REPORT_MAP_RUN,
    RUN_EXPRESS_CHUNK,
    WORKFLOW_TASK_TIMEOUT,
    ExecutionInput,
    MapChunkInput,
)
from workers.task_waits import TaskWaits

R = TypeVar("R")

ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
"""ASL Retry is the only retry authority."""


@lru_cache(maxsize=256)
def program_of(definition: str) -> Program:
    """``load_program`` once per definition text per worker process (this module is passed through
    the sandbox, so the cache outlives each run). Validating and compiling a 1,000-state definition
    costs more than running it; a ``Program`` is immutable, shared like compiled expressions are."""
    return load_program(definition)


class TemporalHost(TaskWaits):
    """Implements ``statemachine.host.Host`` inside the ``StateMachineExecution`` workflow."""

    def __init__(self, execution: ExecutionInput, *, notify: bool = False) -> None:
        """``notify``: tell this process's ``HistoryNotices`` about each event recorded (the
        execution's own workflow does; a Map chunk's events never reach its history)."""
        self._execution = execution
        self._notices = history_notices.for_task_queue(workflow.info().task_queue) if notify else None
        self._in_flight = 0
        self._chunks = 0
        self._now_ns = -1
        self._now = datetime.min
        self.events: list[HistoryEvent] = []
        self.map_runs: dict[str, MapRunTracker] = {}
        self._running_chunks: dict[str, dict[str, ChildWorkflowHandle[Any, str]]] = {}
        """Map chunks running, by Map state name and child workflow id (UpdateMapRun resizes them)."""
        """The Distributed Map runs in progress, by ARN (UpdateMapRun reaches them here)."""

    def now(self) -> datetime:
        """One ``datetime`` per workflow activation (Temporal's clock stands still within one):
        the events recorded together share it, so it is built, and later formatted, once."""
        ns = workflow.time_ns()
        if ns != self._now_ns:
            self._now_ns, self._now = ns, workflow.now()
        return self._now

    def uuid4(self) -> str:
        return str(workflow.uuid4())

    def random(self) -> float:
        return workflow.random().random()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)  # a durable timer in the workflow's event loop

    async def invoke_function(self, call: FunctionCall) -> FunctionResult:
        """The ``invoke_function`` activity; the call and its result cross Temporal as they are
        (``workers.payloads``)."""
        return await self._task_activity(INVOKE_FUNCTION, call, FunctionResult)

    async def call_service(self, call: ServiceCall) -> str:
        """The ``call_service`` activity."""
        return await self._task_activity(CALL_SERVICE, call, str)

    async def _task_activity(self, name: str, call: FunctionCall | ServiceCall, result_type: type[R]) -> R:
        """A Task's call as an activity. Short sequential Tasks run as local activities (no
        task-queue round trip, one marker event); Tasks with HeartbeatSeconds or long timeouts, and
        concurrent ones (Map, Parallel), as ordinary activities, so Temporal watches them and workflow
        tasks stay short."""
        seconds = call.timeout_seconds or self._execution.default_task_timeout_seconds
        local = (
            call.heartbeat_seconds is None
            and (
                call.timeout_seconds is None or call.timeout_seconds <= self._execution.local_task_max_seconds
            )
            and self._in_flight < self._execution.local_task_max_in_flight
        )
        self._in_flight += 1
        try:
            if local:
                result: R = await workflow.execute_local_activity(
                    name,
                    call,
                    result_type=result_type,
                    start_to_close_timeout=timedelta(seconds=seconds),
                    retry_policy=ONE_ATTEMPT,
                    summary=call.state_name or None,
                )
                return result
            heartbeat = timedelta(seconds=call.heartbeat_seconds) if call.heartbeat_seconds else None
            result = await workflow.execute_activity(
                name,
                call,
                result_type=result_type,
                start_to_close_timeout=timedelta(seconds=seconds),
                heartbeat_timeout=heartbeat,
                retry_policy=ONE_ATTEMPT,
                summary=call.state_name or None,
            )
            return result
        except (ActivityError, ApplicationError, TimeoutError) as exc:
            raise states_error(exc) from None
        finally:
            self._in_flight -= 1

    async def report_map_run(self, report: MapRunReport) -> None:
        """The ``report_map_run`` activity (local: a row written, retried until it is)."""
        await workflow.execute_local_activity(
            REPORT_MAP_RUN,
            report.to_json(),
            start_to_close_timeout=timedelta(seconds=30),
            summary="map run",
        )

    def patched(self, change: str) -> bool:
        """``statemachine.map_runs.Versioned``: Temporal's patch marker, so an execution that ran
        the code concerned before ``change`` was deployed keeps to the commands it recorded."""
        return workflow.patched(change)

    def map_run_started(self, arn: str, tracker: MapRunTracker) -> None:
        """``statemachine.map_runs.MapRunControls``."""
        self.map_runs[arn] = tracker

    def map_run_ended(self, arn: str) -> None:
        self.map_runs.pop(arn, None)

    def record(self, event: HistoryEvent) -> None:
        self.events.append(event)
        if self._notices is not None and not workflow.unsafe.is_replaying():
            self._notices.recorded(self._execution.execution_id)

    async def run_map_chunk(self, chunk: MapChunk) -> list[IterationOutcome]:
        """``statemachine.offload.MapOffloader``: the chunk as a ``MapChunk`` child workflow, with a
        deterministic id; cancelling this call cancels the child (and its activities)."""
        self._chunks += 1
        child_id = f"{workflow.info().workflow_id}/map/{chunk.state_name}/{self._chunks}"
        # Iterations of a chunk run side by side: their Tasks are ordinary activities (see invoke_function).
        local = self._execution.local_task_max_in_flight if chunk.max_concurrency == 1 else 0
        execution = dataclasses.replace(
            self._execution, definition="", input="", local_task_max_in_flight=local
        )
        request = MapChunkInput(execution, chunk.to_json())
        running = self._running_chunks.setdefault(chunk.state_name, {})
        try:
            handle = await workflow.start_child_workflow(
                MAP_CHUNK_WORKFLOW, request, id=child_id, result_type=str, task_timeout=WORKFLOW_TASK_TIMEOUT
            )
            running[child_id] = handle
            text = await handle
        except ChildWorkflowError as exc:
            if isinstance(exc.cause, CancelledError):
                raise asyncio.CancelledError from None
            raise StatesError("States.Runtime", f"Map chunk {child_id} failed: {exc.cause or exc}") from None
        finally:
            running.pop(child_id, None)
        return outcomes_from_json(text)

    async def run_express_chunk(self, chunk: MapChunk) -> list[IterationOutcome]:
        """``statemachine.offload.ExpressChildren``: a Distributed Map's EXPRESS child executions of
        one chunk in one ``run_express_chunk`` activity (none of their states in this history),
        heartbeating, run again from the chunk's start if its worker dies; cancelling this call
        cancels it."""
        execution = dataclasses.replace(self._execution, definition="", input="")
        heartbeat = timedelta(seconds=self._execution.express_heartbeat_seconds)
        longest = EXPRESS_CHILD_SECONDS * len(chunk.items) + heartbeat.total_seconds()
        try:
            text: str = await workflow.execute_activity(
                RUN_EXPRESS_CHUNK,
                MapChunkInput(execution, chunk.to_json()),
                result_type=str,
                start_to_close_timeout=timedelta(seconds=longest),
                heartbeat_timeout=heartbeat,
                retry_policy=RetryPolicy(maximum_attempts=EXPRESS_ATTEMPTS),
                summary=f"{chunk.state_name}: {len(chunk.items)} Express child executions",
            )
        except ActivityError as exc:
            if isinstance(exc.cause, CancelledError):
                raise asyncio.CancelledError from None
            cause = f"Express child executions of '{chunk.state_name}' failed: {exc.cause or exc}"
            raise StatesError("States.Runtime", cause) from None
        return outcomes_from_json(text)

    async def resize_map_chunks(self, state_name: str, concurrency: int) -> None:
        """``statemachine.offload.ChunkResizer``: signal the Map's running chunks their new share."""
        for child_id, handle in list(self._running_chunks.get(state_name, {}).items()):
            try:
                await handle.signal(CHUNK_CONCURRENCY_SIGNAL, concurrency)
            except FailureError:
                workflow.logger.info("Map chunk %s ended before its new concurrency reached it", child_id)


def states_error(exc: ActivityError | ApplicationError | TimeoutError) -> StatesError:
    """The ASL error for a failed activity: timeouts by kind, application errors by their type.

    Ordinary activities fail with an ``ActivityError`` wrapping the cause; local activities may
    raise the cause itself.
    """
    cause = exc.cause if isinstance(exc, ActivityError) else exc
    if isinstance(cause, TimeoutError):
        if cause.type == TimeoutType.HEARTBEAT:
            return StatesError("States.HeartbeatTimeout", "the task did not send a heartbeat in time")
        return StatesError("States.Timeout", None)  # Step Functions records no cause
    if isinstance(cause, ApplicationError):
        return StatesError(cause.type or "States.TaskFailed", cause.message or None)
    return StatesError("States.TaskFailed", str(cause or exc))
