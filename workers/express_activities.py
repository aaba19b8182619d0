"""Express executions that a Standard execution runs without a Temporal history of their own.

* ``run_express_chunk``: a chunk of a Distributed Map's ``ExecutionType: EXPRESS`` child executions
  (``statemachine.run_express_chunk``): each item an Express execution on this worker's in-memory
  host (functions through its runtime, other services through ``workers.integrations``), at most
  five minutes long; the outcomes go back to the parent, which applies every Map rule to them.
* ``run_express_execution``: a nested ``states:startExecution.sync``/``.sync:2`` of an EXPRESS
  machine, run to its end (five minutes at most) as a synchronous Express execution.

Both heartbeat while they run, so a worker that dies is noticed within their heartbeat timeout and the
activity runs again from its start on another worker (at least once, as Step Functions runs Express
executions); cancelling the activity (the Map failed, the parent stopped) cancels the executions.
Their events go to the execution logs of the machine concerned (the parent's for Map children, as
Step Functions logs Express child executions), never to a history anyone can read back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from temporalio import activity

from foundation.registry import execution_logs
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.execution_logs import LoggingConfig
from foundation.settings import Settings
from statemachine import (
    EXPRESS_CHILD_SECONDS,
    ExecutionContext,
    Host,
    LocalHost,
    MapChunk,
    ServiceCaller,
    execute,
    express_child_arn,
    outcomes_to_json,
    run_express_chunk,
    state_machine_arn,
)
from workers.contracts import (
    RUN_EXPRESS_CHUNK,
    RUN_EXPRESS_EXECUTION,
    ExpressRunRequest,
    ExpressRunResult,
    Invoker,
    MapChunkInput,
)
from workers.execution_logs import ExecutionLogBook, book_for, rows_of
from workers.express import LOG_EVERY_SECONDS, local_host, logging_as_it_goes, record_end
from workers.host import program_of

HEARTBEAT_EVERY = 1.0
"""Seconds between heartbeats (Temporal sends them on at most every 80 % of the timeout)."""


class ExpressActivities:
    """Bound to the registry, the function runtime and the service integrations of this worker."""

    def __init__(
        self,
        sessions: SessionMaker,
        invoker: Invoker | None,
        services: ServiceCaller | None,
        settings: Settings | None = None,
        *,
        limit_seconds: float = EXPRESS_CHILD_SECONDS,
    ) -> None:
        """``settings``: where the execution log journal lives (without: log rows are written from
        memory only). ``limit_seconds``: an Express execution's longest run (shorter in tests)."""
        self._sessions = sessions
        self._invoker = invoker
        self._services = services
        self._settings = settings
        self._limit = limit_seconds
        self._own_book: ExecutionLogBook | None = None

    @property
    def _book(self) -> ExecutionLogBook:
        if self._settings is not None:
            return book_for(self._settings, self._sessions)
        if self._own_book is None:
            self._own_book = ExecutionLogBook(self._sessions, None)
        return self._own_book

    @activity.defn(name=RUN_EXPRESS_CHUNK)
    async def run_express_chunk(self, request: MapChunkInput) -> str:
        """The chunk's child executions; their outcomes as JSON text. Each child's events go to the
        parent machine's execution logs as it runs (every ``LOG_EVERY_SECONDS``, the rest as it ends)."""
        chunk = MapChunk.from_json(request.chunk)
        machine = request.execution.state_machine_name
        async with unit_of_work(self._sessions) as session:
            config = await execution_logs.config_of(session, machine)
        attempt = activity.info().attempt
        book = self._book if config.on else None
        running: dict[int, tuple[LocalHost, int, str]] = {}  # children running: host, events logged, ARN

        def hand_over(index: int) -> None:
            if book is None or index not in running:
                return
            host, logged, arn = running[index]
            fresh = host.history[logged:]
            running[index] = (host, logged + len(fresh), arn)
            book.add(rows_of(fresh, config, arn, machine, attempt))

        def new_host(index: int) -> Host:
            host = local_host(self._invoker, self._services, datetime.now(UTC))
            if book is not None:
                running[index] = (host, 0, express_child_arn(chunk, index))
            return host

        def ended(index: int, host: Host) -> None:
            hand_over(index)
            running.pop(index, None)

        async def feed() -> None:
            while True:
                await asyncio.sleep(LOG_EVERY_SECONDS)
                for index in list(running):
                    hand_over(index)

        feeding = asyncio.create_task(feed()) if book is not None else None
        try:
            async with _heartbeating():
                outcomes = await run_express_chunk(chunk, new_host, ended, self._limit)
        finally:
            if feeding is not None:
                feeding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeding
        return outcomes_to_json(outcomes)

    @activity.defn(name=RUN_EXPRESS_EXECUTION)
    async def run_express_execution(self, request: ExpressRunRequest) -> ExpressRunResult:
        """One Express execution to its end; cancelled, it logs ``ExecutionAborted``."""
        started = datetime.fromisoformat(request.start_time)
        host = local_host(self._invoker, self._services, started)
        config = LoggingConfig(request.log_level, request.include_execution_data, request.log_group)
        context = ExecutionContext(
            execution_id=request.execution_arn,
            execution_name=request.name,
            state_machine_id=state_machine_arn(request.state_machine_name, request.region),
            state_machine_name=request.state_machine_name,
            role_arn=request.role_arn,
            start_time=started,
        )
        run = (request.execution_arn, request.state_machine_name, activity.info().attempt)
        left = self._limit - (datetime.now(UTC) - started).total_seconds()
        async with _heartbeating(), logging_as_it_goes(self._book, host, config, *run):
            try:
                async with asyncio.timeout(max(left, 0.0)):
                    program = program_of(request.definition)
                    outcome = await execute(program, json.loads(request.input), context, host)
            except TimeoutError:
                cause = f"the Express execution ran longer than {self._limit:g} s"
                record_end(host, "ExecutionTimedOut", "States.Timeout", cause)
                return _result("TIMED_OUT", None, "States.Timeout", cause)
            except asyncio.CancelledError:
                record_end(host, "ExecutionAborted", "States.Aborted", "The parent execution was stopped")
                raise
        output = json.dumps(outcome.output) if outcome.status == "SUCCEEDED" else None
        return _result(outcome.status, output, outcome.error, outcome.cause)

    def all(self) -> list[Callable[..., object]]:
        return [self.run_express_chunk, self.run_express_execution]


def _result(status: str, output: str | None, error: str | None, cause: str | None) -> ExpressRunResult:
    return ExpressRunResult(status, datetime.now(UTC).isoformat(), output, error, cause)


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat every ``HEARTBEAT_EVERY`` seconds while entered."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)

    beating = asyncio.create_task(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
