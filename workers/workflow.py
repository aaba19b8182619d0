"""``StateMachineExecution``: one execution of a state machine, hosting the interpreter unchanged.

The workflow runs the interpreter with ``TemporalHost``, answers the ``history`` query while it runs,
ends as ABORTED on the ``stop`` signal, and at the end writes its history and outcome to PostgreSQL
through local activities (their arguments stay out of the Temporal history, so a large history costs
only one small marker per chunk).
"""

from __future__ import annotations

import asyncio
import json
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from statemachine import (
        JSON,
        DefinitionError,
        ExecutionContext,
        HistoryEvent,
        Limits,
        MapRunUpdate,
        MockTestCase,
        Resume,
        execute,
        execution_arn,
        state_machine_arn,
    )
    from workers.contracts import (
        FINISH_EXECUTION,
        HISTORY_QUERY,
        MAP_RUN_NOT_RUNNING,
        RECORD_HISTORY,
        STOP_SIGNAL,
        TASK_TOKEN_UPDATE,
        UPDATE_MAP_RUN,
        WORKFLOW_NAME,
        ExecutionInput,
        ExecutionResult,
        FinishRequest,
        HistoryChunk,
        HistoryPage,
        HistoryQuery,
        MapRunUpdateRequest,
        StopRequest,
        TokenUpdate,
    )
    from workers.history_chunks import Chunk, chunks
    from workers.host import TemporalHost, program_of
    from workers.task_waits import rejected

DURABLE_LIMITS = Limits(max_history_events=1_000_000)
"""Step Functions stops at 25,000 events; here large Maps must finish, so only runaway loops stop."""

REPORT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""Writing the outcome retries until PostgreSQL answers (the writes are idempotent)."""


@workflow.defn(name=WORKFLOW_NAME)
class StateMachineWorkflow:
    """Runs one execution; see the module docstring."""

    def __init__(self) -> None:
        self._host: TemporalHost | None = None
        self._stop: StopRequest | None = None

    @workflow.run
    async def run(self, execution: ExecutionInput) -> ExecutionResult:
        host = self._host = TemporalHost(execution, notify=True)
        try:
            program = program_of(execution.definition)
        except DefinitionError as exc:
            result = ExecutionResult("FAILED", error="States.Runtime", cause=str(exc))
        else:
            context = ExecutionContext(
                execution_id=execution_arn(
                    execution.state_machine_name, execution.execution_name, execution.region
                ),
                execution_name=execution.execution_name,
                state_machine_id=state_machine_arn(execution.state_machine_name, execution.region),
                state_machine_name=execution.state_machine_name,
                role_arn=execution.role_arn,
                start_time=datetime.fromisoformat(execution.start_time),
            )
            resume = Resume.from_json(json.loads(execution.redrive)) if execution.redrive else None
            mocks = MockTestCase.from_json(json.loads(execution.mocks)) if execution.mocks else None
            running = asyncio.create_task(
                execute(program, json.loads(execution.input), context, host, DURABLE_LIMITS, resume, mocks)
            )
            try:
                await workflow.wait_condition(lambda: running.done() or self._stop is not None)
            except asyncio.CancelledError:  # a cancelled child (its .sync parent stopped) stops too
                self._stop = self._stop or StopRequest(cause="The parent execution was stopped")
            if running.done():
                outcome = running.result()
                output = json.dumps(outcome.output) if outcome.status == "SUCCEEDED" else None
                result = ExecutionResult(outcome.status, output, outcome.error, outcome.cause)
            else:
                running.cancel()
                await workflow.wait([running])
                result = self._abort(host)
        await self._report(execution, host.events, result)
        return result

    @workflow.update(name=TASK_TOKEN_UPDATE)
    def task_token(self, update: TokenUpdate) -> None:
        """SendTaskSuccess/Failure/Heartbeat, or an activity worker took the task (``workers.task_waits``)."""
        if self._host is not None:
            self._host.deliver_token_update(update)

    @task_token.validator
    def check_task_token(self, update: TokenUpdate) -> None:
        if self._host is None:
            raise rejected("TaskDoesNotExist", "Task Does Not Exist: the execution has not started")
        self._host.check_token_update(update)

    @workflow.update(name=UPDATE_MAP_RUN)
    async def update_map_run(self, request: MapRunUpdateRequest) -> None:
        """UpdateMapRun: the map run's remaining iterations take the new settings."""
        tracker = self._host.map_runs.get(request.map_run_arn) if self._host is not None else None
        if tracker is not None:
            await tracker.update(
                MapRunUpdate(
                    request.max_concurrency,
                    request.tolerated_failure_count,
                    request.tolerated_failure_percentage,
                )
            )

    @update_map_run.validator
    def check_map_run(self, request: MapRunUpdateRequest) -> None:
        tracker = self._host.map_runs.get(request.map_run_arn) if self._host is not None else None
        if tracker is None:
            raise rejected(MAP_RUN_NOT_RUNNING, f"Map run is not running: {request.map_run_arn}")
        if not tracker.live:
            raise rejected(
                MAP_RUN_NOT_RUNNING,
                f"Map run {request.map_run_arn} started before this version of Stepline: it runs to its"
                " end with the settings it started with",
            )

    @workflow.signal(name=STOP_SIGNAL)
    def stop(self, request: StopRequest) -> None:
        if self._stop is None:
            self._stop = request

    @workflow.query(name=HISTORY_QUERY)
    def history(self, query: HistoryQuery) -> HistoryPage:
        events = self._host.events if self._host is not None else []
        return page_of(events, query)

    def _abort(self, host: TemporalHost) -> ExecutionResult:
        stop = self._stop or StopRequest()
        last = host.events[-1].id if host.events else 0
        details: dict[str, JSON] = {
            k: v for k, v in (("error", stop.error), ("cause", stop.cause)) if v is not None
        }
        host.record(
            HistoryEvent(
                last + 1, last, workflow.now(), "ExecutionAborted", "executionAbortedEventDetails", details
            )
        )
        return ExecutionResult("ABORTED", error=stop.error, cause=stop.cause)

    async def _report(
        self, execution: ExecutionInput, events: list[HistoryEvent], result: ExecutionResult
    ) -> None:
        """History chunks concurrently, then the outcome with the last chunk (one call when small)."""
        parts = chunks(events, execution.report_chunk_bytes)
        last: Chunk | tuple[()] = parts.pop() if parts else ()
        await asyncio.gather(
            *(
                workflow.execute_local_activity(
                    RECORD_HISTORY,
                    HistoryChunk(execution.execution_id, *chunk),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=REPORT_RETRY,
                )
                for chunk in parts
            )
        )
        await workflow.execute_local_activity(
            FINISH_EXECUTION,
            FinishRequest(execution.execution_id, result, workflow.now().isoformat(), *last),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=REPORT_RETRY,
        )


def page_of(events: list[HistoryEvent], query: HistoryQuery) -> HistoryPage:
    """One page of events by id, forwards or backwards from ``query.after_id``.

    Events are in id order, so the page is found by bisection: a live stream asks for the few
    events after its cursor on every notice, and a scan of a long history each time would cost the
    worker's CPU in proportion to the history, not to the page."""
    after = query.after_id
    if query.reverse:
        end = len(events) if after is None else bisect_left(events, after, key=_event_id)
        start = max(0, end - query.limit)
        return HistoryPage([e.to_json() for e in reversed(events[start:end])], more=start > 0)
    start = 0 if after is None else bisect_right(events, after, key=_event_id)
    end = start + query.limit
    return HistoryPage([e.to_json() for e in events[start:end]], more=end < len(events))


def _event_id(event: HistoryEvent) -> int:
    return event.id
