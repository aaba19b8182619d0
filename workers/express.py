"""Running asynchronous Express executions from their durable queue (``express_execution``).

Step Functions runs an asynchronous Express execution at least once and keeps no history of it: its
events go to the machine's execution logs, which are how users follow it. Stepline does the same
without Temporal: a worker claims a queued execution with a lease (renewed while it runs), runs it
with the language's ``LocalHost`` in real time, as synchronous Express executions run in the API
(functions through this worker's runtime, other services through ``workers.integrations``), hands
its log events to the ``ExecutionLogBook`` as it goes, and deletes the row when it has ended. A worker
that dies mid-run (kill -9) leaves the row to come due when its lease runs out; the next claim runs
the execution again from its start (its log events then come twice, under two attempts). Five
minutes after its start an execution times out, as Step Functions' Express executions do; after
``MAX_ATTEMPTS`` runs that never ended (a run that kills its worker), it is given up as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import TracebackType

from foundation.registry import express_executions as queue
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.execution_logs import LoggingConfig
from foundation.registry.express_executions import EXPRESS_CHANNEL, ExpressExecution
from foundation.settings import Settings
from statemachine import (
    EXECUTION_ROLE_ARN,
    ExecutionContext,
    FunctionCall,
    FunctionResult,
    HistoryEvent,
    LocalHost,
    ServiceCaller,
    StatesError,
    execute,
    state_machine_arn,
)
from workers.contracts import Invoker
from workers.execution_logs import ExecutionLogBook, book_for, rows_of
from workers.functions.event_wakeups import EventWakeups
from workers.host import program_of

log = logging.getLogger(__name__)
LIMIT_SECONDS = 300.0
"""Step Functions' limit on an Express execution's duration."""
MAX_ATTEMPTS = 3
CONCURRENCY = 64
"""Executions one worker runs at once."""
LOG_EVERY_SECONDS = 0.2
"""How often a running execution's new log events are handed to the book (and when it ends)."""


class ExpressRunner:
    """Claims and runs queued asynchronous Express executions while entered."""

    def __init__(
        self,
        settings: Settings,
        sessions: SessionMaker,
        invoker: Invoker | None,
        services: ServiceCaller | None,
        *,
        poll_seconds: float = 1.0,
        limit_seconds: float = LIMIT_SECONDS,
    ) -> None:
        """``limit_seconds``: how long after its start an execution times out (Step Functions' five
        minutes; shorter in tests)."""
        self._settings = settings
        self._limit = limit_seconds
        self._sessions = sessions
        self._invoker = invoker
        self._services = services
        self._lease = settings.worker.express_lease_seconds
        self._task_queue = settings.temporal.task_queue
        self._book: ExecutionLogBook = book_for(settings, sessions)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeups = EventWakeups(
            settings.database.url.get_secret_value(), poll_seconds=poll_seconds,
            unconnected_poll_seconds=min(poll_seconds, 0.5), channel=EXPRESS_CHANNEL,
        )  # fmt: skip

    async def __aenter__(self) -> ExpressRunner:
        await self._wakeups.__aenter__()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="stepline-express-claims"),
            asyncio.create_task(self._renew_loop(), name="stepline-express-leases"),
        ]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        running, tasks = list(self._running), [*self._tasks, *self._running.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._wakeups.__aexit__(kind, exc, tb)
        with contextlib.suppress(OSError, RuntimeError):  # stopping: another worker takes them at once
            async with unit_of_work(self._sessions) as session:
                await queue.renew(session, running, 0.0)
        await self._book.close()  # the process is stopping (a later book_for opens another)

    async def _claim_loop(self) -> None:
        while True:
            try:
                await self.run_due()
            except (OSError, RuntimeError) as exc:  # the database away: try again later
                log.warning("express executions: %s", exc)
            await self._wakeups.wait()

    async def run_due(self) -> int:
        """Start every due execution this worker has room for; how many it started."""
        started = 0
        while (room := CONCURRENCY - len(self._running)) > 0:
            async with unit_of_work(self._sessions) as session:
                due = await queue.claim(session, self._task_queue, min(room, 16), self._lease)
            for execution in due:
                task = asyncio.create_task(self._run(execution), name=f"express {execution.arn}")
                self._running[execution.arn] = task
                task.add_done_callback(self._forget)
            started += len(due)
            if len(due) < min(room, 16):
                return started
        return started

    def _forget(self, task: asyncio.Task[None]) -> None:
        for arn, running in list(self._running.items()):
            if running is task:
                del self._running[arn]
        if len(self._running) == CONCURRENCY - 1:  # room again: look for what queued meanwhile
            self._wakeups.wake_in(0.0)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                async with unit_of_work(self._sessions) as session:
                    await queue.renew(session, list(self._running), self._lease)
            except (OSError, RuntimeError) as exc:
                log.warning("express executions: leases not renewed: %s", exc)

    async def _run(self, execution: ExpressExecution) -> None:
        host = self._host(execution.start_date)
        run = (execution.arn, execution.state_machine_name, execution.attempts)
        async with logging_as_it_goes(self._book, host, execution.logging, *run):
            try:
                if execution.attempts > MAX_ATTEMPTS:
                    record_end(host, "ExecutionFailed", "States.Runtime",
                         f"the execution was started {MAX_ATTEMPTS} times and never ended")  # fmt: skip
                else:
                    await self._execute(execution, host)
            except Exception as exc:  # (a definition that no longer loads): the execution fails
                log.exception("express execution %s", execution.arn)
                record_end(host, "ExecutionFailed", "States.Runtime", f"{type(exc).__name__}: {exc}")
        try:
            async with unit_of_work(self._sessions) as session:
                await queue.finish(session, execution.arn)
        except (OSError, RuntimeError) as exc:  # it stays queued: run again once its lease runs out
            log.warning("express execution %s ended but could not be dequeued: %s", execution.arn, exc)

    async def _execute(self, execution: ExpressExecution, host: LocalHost) -> None:
        context = ExecutionContext(
            execution_id=execution.arn,
            execution_name=execution.name,
            state_machine_id=state_machine_arn(execution.state_machine_name, self._settings.region),
            state_machine_name=execution.state_machine_name,
            role_arn=execution.role_arn or EXECUTION_ROLE_ARN,
            start_time=execution.start_date,
        )
        left = self._limit - (datetime.now(UTC) - execution.start_date).total_seconds()
        try:
            async with asyncio.timeout(max(left, 0.0)):
                await execute(program_of(execution.definition), json.loads(execution.input), context, host)
        except TimeoutError:
            record_end(host, "ExecutionTimedOut", "States.Timeout",
                 f"the Express execution ran longer than {self._limit:g} s")  # fmt: skip

    def _host(self, started: datetime) -> LocalHost:
        return local_host(self._invoker, self._services, started)


@contextlib.asynccontextmanager
async def logging_as_it_goes(
    book: ExecutionLogBook, host: LocalHost, config: LoggingConfig, arn: str, machine: str, attempt: int
) -> AsyncIterator[None]:
    """While entered, hand ``host``'s new events to ``book`` every ``LOG_EVERY_SECONDS`` (journaled at
    once), and the rest on the way out, however it is left (when ``config`` logs at all)."""
    logged_up_to = 0

    def hand_over() -> None:
        nonlocal logged_up_to
        fresh = host.history[logged_up_to:]
        logged_up_to += len(fresh)
        book.add(rows_of(fresh, config, arn, machine, attempt))

    feeding = asyncio.create_task(_every(LOG_EVERY_SECONDS, hand_over)) if config.on else None
    try:
        yield
    finally:
        if feeding is not None:
            feeding.cancel()
            hand_over()


def local_host(invoker: Invoker | None, services: ServiceCaller | None, started: datetime) -> LocalHost:
    """The language's in-memory host in real time, with this worker's functions and integrations."""
    return LocalHost(
        invoker=invoker.invoke_for_state_machine if invoker is not None else _no_runtime,
        services=services,
        start_time=started,
        seed=None,
        virtual_time=False,
        clock=lambda: datetime.now(UTC),
        uuids=lambda: str(uuid.uuid4()),
    )


def record_end(host: LocalHost, event_type: str, error: str, cause: str) -> None:
    """Record the execution's last event when the interpreter could not (a time-out, a crash)."""
    last = host.history[-1].id if host.history else 0
    key = event_type[0].lower() + event_type[1:] + "EventDetails"
    host.record(
        HistoryEvent(last + 1, last, datetime.now(UTC), event_type, key, {"error": error, "cause": cause})
    )


async def _every(seconds: float, action: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(seconds)
        action()


async def _no_runtime(call: FunctionCall) -> FunctionResult:
    raise StatesError("Lambda.ServiceException", "this worker runs no function runtime")
