"""Activities of ``StateMachineExecution``: invoke a function, and write a finished execution down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime

from temporalio import activity
from temporalio.exceptions import ApplicationError

from foundation.registry import executions
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import DEFAULT_REGION, FunctionCall, FunctionResult, ServiceCall, ServiceCaller, StatesError
from workers.callback_activities import CallbackActivities
from workers.contracts import (
    CALL_SERVICE,
    FINISH_EXECUTION,
    INVOKE_FUNCTION,
    RECORD_HISTORY,
    FinishRequest,
    HistoryChunk,
    Invoker,
)
from workers.events import status_changes
from workers.events.schedule_activities import ScheduleActivities
from workers.execution_logs import log_finished
from workers.express_activities import ExpressActivities
from workers.map_run_activities import MapRunActivities


class Activities:
    """The activities, bound to the registry and to whatever runs functions (``Invoker``)."""

    def __init__(
        self,
        sessions: SessionMaker,
        invoker: Invoker | None,
        services: ServiceCaller | None = None,
        settings: Settings | None = None,
    ) -> None:
        """``services``: how Task states call other services (``workers.integrations``).
        ``settings``: where Express executions' log events are journaled (``workers.express_activities``;
        without: written from memory)."""
        self._sessions = sessions
        self._invoker = invoker
        self._services = services
        self._express = ExpressActivities(sessions, invoker, services, settings)

    @property
    def sessions(self) -> SessionMaker:
        """The registry these activities write to."""
        return self._sessions

    @activity.defn(name=INVOKE_FUNCTION)
    async def invoke_function(self, call: FunctionCall) -> FunctionResult:
        """Run the function; heartbeats while it runs so a dead worker shows as a heartbeat timeout.
        Input and result cross Temporal as they are (``workers.payloads``)."""
        if self._invoker is None:
            raise ApplicationError(
                "this worker runs no function runtime", type="Lambda.ServiceException", non_retryable=True
            )
        beating = asyncio.create_task(_heartbeat(call.heartbeat_seconds)) if _can_heartbeat() else None
        try:
            return await self._invoker.invoke_for_state_machine(call)
        except StatesError as exc:
            raise ApplicationError(exc.cause or exc.name, type=exc.name, non_retryable=True) from None
        finally:
            if beating is not None:
                beating.cancel()
                with suppress(asyncio.CancelledError):
                    await beating

    @activity.defn(name=CALL_SERVICE)
    async def call_service(self, call: ServiceCall) -> str:
        """Call another service for a Task state; heartbeats like ``invoke_function``."""
        if self._services is None:
            raise ApplicationError(
                f"this worker calls no other services (the Task called '{call.service}')",
                type="States.TaskFailed",
                non_retryable=True,
            )
        beating = asyncio.create_task(_heartbeat(call.heartbeat_seconds)) if _can_heartbeat() else None
        try:
            return await self._services(call)
        except StatesError as exc:
            raise ApplicationError(exc.cause or exc.name, type=exc.name, non_retryable=True) from None
        finally:
            if beating is not None:
                beating.cancel()
                with suppress(asyncio.CancelledError):
                    await beating

    @activity.defn(name=RECORD_HISTORY)
    async def record_history(self, chunk: HistoryChunk) -> None:
        """Store a chunk of a finished execution's history (idempotent)."""
        async with unit_of_work(self._sessions) as session:
            await executions.add_history_events(
                session, chunk.execution_id, chunk.events, chunk.first_event_id, chunk.last_event_id
            )

    @activity.defn(name=FINISH_EXECUTION)
    async def finish_execution(self, request: FinishRequest) -> None:
        """Record the last events and the outcome once; an execution row that does not exist yet
        fails (and is retried). One statement outside a transaction block: one round trip."""
        result = request.result
        async with self._sessions() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            await executions.finish_with_history(
                session,
                request.execution_id,
                request.events,
                result.status,
                result.output,
                result.error,
                result.cause,
                datetime.fromisoformat(request.stop_date),
                request.first_event_id,
                request.last_event_id,
            )
        async with unit_of_work(self._sessions) as session:  # a rule may chain on it (at least once)
            await status_changes.execution_ended(session, request.execution_id, DEFAULT_REGION)
            await log_finished(session, request.execution_id, DEFAULT_REGION)  # its execution logs

    def all(self) -> list[Callable[..., object]]:
        """Every activity, for ``temporalio.worker.Worker(activities=...)``."""
        waits = CallbackActivities(self._sessions).all() + MapRunActivities(self._sessions).all()
        schedules = ScheduleActivities(self._sessions).all()
        waits += self._express.all()
        return [
            self.invoke_function, self.call_service, self.record_history, self.finish_execution, *waits,
            *schedules,
        ]  # fmt: skip


def _can_heartbeat() -> bool:
    return not activity.info().is_local


async def _heartbeat(every: float | None) -> None:
    interval = max(0.5, (every or 30.0) / 3)
    while True:
        activity.heartbeat()
        await asyncio.sleep(interval)
