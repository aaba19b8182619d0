"""Event (asynchronous) invocations: queued durably in PostgreSQL, run by a background consumer.

``enqueue`` answers the caller at once (Lambda's 202); ``consume`` claims due events (a batch at a
time, leased so that a crashed worker's are taken again), runs each through the ordinary invocation
path and records its outcome. A function error is retried twice, as Lambda does. ``EventWakeups``
(a PostgreSQL notification) wakes the consumer as soon as an event is queued, or is due again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Protocol

from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, unit_of_work
from statemachine import FunctionResult
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

    def __init__(self, sessions: SessionMaker, retry_delays: tuple[float, ...] = (60.0, 120.0)) -> None:
        self._sessions = sessions
        self._retry_delays = retry_delays
        """Before the 2nd, 3rd... attempt of an event whose function failed."""

    async def enqueue(self, name: str, qualifier: str | None, payload: bytes) -> str:
        """Queue an invocation (and notify the consumers); returns its id, the invocation's request id.
        The queue stores text: a payload that is not UTF-8 is stored with replacement characters."""
        async with unit_of_work(self._sessions) as session:
            event = await registry.enqueue_event(session, name, qualifier, payload.decode("utf-8", "replace"))
        return event.id

    async def consume(self, invoke: Invoke, wakeups: EventWakeups) -> None:
        """Run queued events through ``invoke`` until cancelled."""
        while True:
            try:
                async with unit_of_work(self._sessions) as session:
                    events = await registry.claim_events(session, BATCH, lease_seconds=LEASE_SECONDS)
            except OSError as exc:
                log.warning("cannot read queued invocations: %s", exc)
                events = []
            if not events:
                await wakeups.wait()
                continue
            await asyncio.gather(*(self._run(e, invoke, wakeups) for e in events))

    async def _run(self, event: registry.FunctionEvent, invoke: Invoke, wakeups: EventWakeups) -> None:
        retry_in: float | None = None
        try:
            result = await invoke(event.function_name, event.payload.encode(), qualifier=event.qualifier)
            response, error = result.payload.decode("utf-8", "replace"), result.error_type
        except InvokeError as exc:
            response, error = exc.message, exc.code
        if error is not None and event.attempts <= len(self._retry_delays):
            retry_in = self._retry_delays[event.attempts - 1]
        async with unit_of_work(self._sessions) as session:
            await registry.finish_event(
                session, event.id, response=response, function_error=error, retry_in=retry_in
            )
        if retry_in is not None:
            wakeups.wake_in(retry_in)
