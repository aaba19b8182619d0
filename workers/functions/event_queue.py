"""Event (asynchronous) invocations: queued durably in PostgreSQL, run by a background consumer.

``enqueue`` answers the caller at once (Lambda's 202); ``consume`` claims due events (a batch at a
time, leased so that a crashed worker's are taken again), runs each through the ordinary invocation
path and records its outcome. A function error is retried twice, as Lambda does, unless the
function's ``EventInvokeConfig`` says otherwise (``MaximumRetryAttempts``; ``MaximumEventAgeInSeconds``
drops an event grown too old). The record of a final outcome goes to its destination
(``destinations``), written in the transaction recording the outcome. ``EventWakeups`` (a PostgreSQL
notification) wakes the consumer as soon as an event is queued, or is due again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from foundation.registry import event_invoke
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, unit_of_work
from statemachine import FunctionResult
from workers.functions.destinations import (
    EVENT_AGE_EXCEEDED,
    RETRIES_EXHAUSTED,
    SUCCESS,
    Destinations,
    Outcome,
    route_outcome,
)
from workers.functions.errors import InvokeError
from workers.functions.event_wakeups import EventWakeups

log = logging.getLogger(__name__)
BATCH = 8
LEASE_SECONDS = 960.0
"""Longer than any function may run (900 s): a lease that expires belongs to a crashed worker."""


class Invoke(Protocol):
    """A synchronous invocation (``Invocations.invoke``)."""

    def __call__(
        self, name: str, payload: bytes, *, qualifier: str | None = None
    ) -> Awaitable[FunctionResult]: ...


class EventQueue:
    """The queue of Event invocations: its producer side and its consumer."""

    def __init__(
        self, sessions: SessionMaker, retry_delays: tuple[float, ...] = (60.0, 120.0),
        destinations: Destinations | None = None, *, region: str = "us-east-1",
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:  # fmt: skip
        self._sessions = sessions
        self._retry_delays = retry_delays
        """Before the 2nd, 3rd... attempt of an event whose function failed."""
        self._destinations = destinations
        """Delivers records to state machines and queues (None: they wait in the outbox)."""
        self._region = region
        self._lease_seconds = lease_seconds

    async def enqueue(self, name: str, qualifier: str | None, payload: bytes) -> str:
        """Queue an invocation (and notify the consumers); returns its id, the invocation's request id.
        The queue stores text: a payload that is not UTF-8 is stored with replacement characters."""
        async with unit_of_work(self._sessions) as session:
            event = await registry.enqueue_event(session, name, qualifier, payload.decode("utf-8", "replace"))
        return event.id

    async def consume(self, invoke: Invoke, wakeups: EventWakeups) -> None:
        """Run queued events through ``invoke`` until cancelled (first delivering the records a
        crashed consumer left in the outbox)."""
        await self._deliver()
        while True:
            try:
                async with unit_of_work(self._sessions) as session:
                    events = await registry.claim_events(session, BATCH, lease_seconds=self._lease_seconds)
            except OSError as exc:
                log.warning("cannot read queued invocations: %s", exc)
                events = []
            if not events:
                await wakeups.wait()
                await self._deliver()
                continue
            await asyncio.gather(*(self._run(e, invoke, wakeups) for e in events))

    async def _run(self, event: registry.FunctionEvent, invoke: Invoke, wakeups: EventWakeups) -> None:
        async with unit_of_work(self._sessions) as session:
            config = await event_invoke.get_config(session, event.function_name, event.qualifier)
        max_age = config.maximum_event_age_seconds if config is not None else None
        if max_age is not None and (registry.utcnow() - event.created_at).total_seconds() > max_age:
            await self._finish(event, config, Outcome(EVENT_AGE_EXCEEDED, event.attempts - 1), None)
            return
        executed = event.qualifier or "$LATEST"
        try:
            result = await invoke(event.function_name, event.payload.encode(), qualifier=event.qualifier)
            response, error, executed = (
                result.payload.decode("utf-8", "replace"),
                result.error_type,
                result.executed_version,
            )
        except InvokeError as exc:
            response, error = exc.message, exc.code
        retries = len(self._retry_delays)
        if config is not None and config.maximum_retry_attempts is not None:
            retries = min(retries, config.maximum_retry_attempts)
        retry_in = (
            self._retry_delays[event.attempts - 1]
            if error is not None and event.attempts <= retries
            else None
        )
        condition = SUCCESS if error is None else RETRIES_EXHAUSTED
        outcome = Outcome(condition, event.attempts, response, error, executed)
        await self._finish(event, config, outcome, retry_in)
        if retry_in is not None:
            wakeups.wake_in(retry_in)

    async def _finish(
        self, event: registry.FunctionEvent, config: event_invoke.EventInvokeConfig | None,
        outcome: Outcome, retry_in: float | None,
    ) -> None:  # fmt: skip
        """Record an attempt's outcome and, when it is final, its record for the destination: one
        transaction, so that a crash sends the record once or not at all (the attempt runs again), and
        only the event's latest attempt records anything."""
        error = outcome.function_error or (outcome.condition if outcome.condition != SUCCESS else None)
        async with unit_of_work(self._sessions) as session:
            current = await session.get(registry.FunctionEvent, event.id, with_for_update=True)
            if current is None or (current.status, current.attempts) != ("RUNNING", event.attempts):
                return  # a stale attempt: its lease expired and a newer one owns the event
            await registry.finish_event(
                session, event.id, response=outcome.response or "", function_error=error, retry_in=retry_in
            )
            waiting = retry_in is None and await route_outcome(session, event, config, outcome, self._region)
        if waiting:
            await self._deliver()

    async def _deliver(self) -> None:
        if self._destinations is None:
            return
        try:
            await self._destinations.deliver_due()
        except OSError as exc:
            log.warning("cannot deliver invocation records: %s", exc)
