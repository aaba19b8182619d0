"""Delivering the outbox (``event_delivery``) to rule targets, at least once, never started twice.

A function target gets an Event invocation queued in the very transaction that marks the delivery
DELIVERED (exactly once). A state machine target gets an execution named after the delivery's id,
then the delivery is marked: a crash between the two redelivers, and the second start finds the
execution (Temporal's workflow id and the registry's unique name) and starts nothing. A failed
attempt is retried after ``retry_seconds`` up to ``max_attempts`` times, then counted as failed on
its rule with the error as the rule's last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from foundation.registry import event_bus as registry
from foundation.registry import functions as functions_registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import parse_function_ref
from workers.events import bus
from workers.functions.event_wakeups import EventWakeups
from workers.named_starts import NamedStarts

log = logging.getLogger(__name__)


class Deliverer:
    """Runs ``deliver_due`` while entered (the worker's delivery loop): at once when a delivery is
    queued anywhere (a PostgreSQL notification), else every two seconds (``poll_seconds`` while the
    listening connection is down)."""

    def __init__(
        self, settings: Settings, sessions: SessionMaker, *, poll_seconds: float = 0.5,
        retry_seconds: float = 10.0, max_attempts: int = 3, lease_seconds: float = 60.0,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._max_attempts = max_attempts
        self._lease_seconds = lease_seconds
        self.starts = NamedStarts(settings, sessions)
        """Starts a state machine target's execution, named after the delivery."""
        self._task: asyncio.Task[None] | None = None
        self._wakeups = EventWakeups(
            settings.database.url.get_secret_value(), poll_seconds=2.0,
            unconnected_poll_seconds=poll_seconds, channel=registry.DELIVERIES_CHANNEL,
        )  # fmt: skip
        """PutEvents, schedules and destinations notify when they queue; a slow poll covers retries."""

    async def __aenter__(self) -> Deliverer:
        await self._wakeups.__aenter__()
        self._task = asyncio.create_task(self._loop(), name="stepline-event-delivery")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._wakeups.__aexit__(kind, exc, tb)

    async def _loop(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except (OSError, RuntimeError) as exc:  # the database or Temporal away: try again later
                log.warning("event delivery: %s", exc)
            await self._wakeups.wait()

    async def deliver_due(self) -> int:
        """Deliver every due delivery; how many were attempted."""
        attempted = 0
        while True:  # events Task states put on this bus: routed first, into deliveries
            async with unit_of_work(self._sessions) as session:
                if not await bus.route_inbound(session, self._settings.region):
                    break
        while True:
            async with unit_of_work(self._sessions) as session:
                due = await registry.claim_deliveries(session, 16, self._lease_seconds)
            if not due:
                return attempted
            for delivery in due:
                attempted += 1
                await self._deliver(delivery)

    async def _deliver(self, delivery: registry.EventDelivery) -> None:
        parts = delivery.arn.split(":")
        error: str | None = None
        try:
            if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
                name, qualifier = parse_function_ref(delivery.arn)
                async with unit_of_work(self._sessions) as session:
                    await functions_registry.get_function(session, name)
                    await functions_registry.enqueue_event(session, name, qualifier, delivery.payload)
                    await registry.finish_delivery(session, delivery.id, error=None, retry_in=None)
                return
            if len(parts) == 7 and parts[2] == "states" and parts[5] == "stateMachine":
                await self.starts.start_latest(parts[6], delivery.id, delivery.payload)
            else:
                error = f"not a target Stepline delivers to: {delivery.arn}"
        except functions_registry.FunctionNotFound as exc:
            error = f"ResourceNotFoundException: {exc}"
        except Exception as exc:  # a delivery's failure is recorded, not raised into the loop
            error = f"{type(exc).__name__}: {exc}"
        retry = error is not None and delivery.attempts < self._max_attempts
        async with unit_of_work(self._sessions) as session:
            await registry.finish_delivery(
                session, delivery.id, error=error, retry_in=self._retry_seconds if retry else None
            )
        if error is not None:
            log.warning("event delivery %s to %s: %s", delivery.id, delivery.arn, error)
