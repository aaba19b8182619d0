"""Delivering the outbox (``event_delivery``) to rule targets, at least once, never started twice.

A function target gets an Event invocation queued in the very transaction that marks the delivery
DELIVERED (exactly once). A state machine target gets an execution named after the delivery's id,
then the delivery is marked: a crash between the two redelivers, and the second start finds the
execution (Temporal's workflow id and the registry's unique name) and starts nothing. A rule
target's or a schedule's delivery carries its retry policy and dead-letter target
(``workers.events.retries``; a rule target without a RetryPolicy gets AWS's: 185 retries within 24
hours): exponential backoff from ``retry_seconds``, then counted as failed on its rule with the error
as the rule's last error and the dead letter, if any, queued in the transaction that marks the
delivery FAILED (so a restart loses neither). A delivery without a policy (a destination's, a dead
letter's) is retried after ``retry_seconds`` up to ``max_attempts`` times.

The same loop publishes the RUNNING status changes the ``execution_started`` trigger queued
(``workers.events.status_changes``), and removes DELIVERED rows past the retention
(``retention``, ``keep_delivered``; never a row still to deliver).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import event_bus as registry
from foundation.registry import functions as functions_registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import parse_function_ref
from workers.events import bus, retries, status_changes
from workers.functions.event_wakeups import EventWakeups
from workers.named_starts import NamedStarts

log = logging.getLogger(__name__)
RETENTION = timedelta(days=1)
"""How long a DELIVERED outbox row is kept (the newest ``keep_delivered`` at most)."""


class Deliverer:
    """Runs ``deliver_due`` while entered (the worker's delivery loop): at once when a delivery is
    queued anywhere (a PostgreSQL notification), else every two seconds (``poll_seconds`` while the
    listening connection is down)."""

    def __init__(
        self, settings: Settings, sessions: SessionMaker, *, poll_seconds: float = 0.5,
        retry_seconds: float = 10.0, max_attempts: int = 3, lease_seconds: float = 60.0,
        retention: timedelta = RETENTION, keep_delivered: int = 100_000, prune_seconds: float = 60.0,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._retry_seconds = retry_seconds
        self._max_attempts = max_attempts
        self._lease_seconds = lease_seconds
        self._retention = retention
        self._keep_delivered = keep_delivered
        self._prune_seconds = prune_seconds
        self._pruned_at = 0.0
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
            if time.monotonic() - self._pruned_at >= self._prune_seconds:
                self._pruned_at = time.monotonic()
                try:
                    await self.prune()
                except Exception as exc:  # housekeeping: a failed sweep must never stop deliveries
                    log.warning("event outbox retention: %s", exc)
            await self._wakeups.wait()

    async def deliver_due(self) -> int:
        """Deliver every due delivery; how many were attempted."""
        attempted = 0
        while True:  # executions started while the default bus had a rule: their RUNNING change
            async with unit_of_work(self._sessions) as session:
                started = await registry.claim_started(session, 64)
                for execution_id in started:
                    await status_changes.execution_started(session, execution_id, self._settings.region)
            if not started:
                break
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
                try:
                    await self.starts.start_latest(parts[6], delivery.id, delivery.payload)
                except LookupError as exc:  # the machine is gone: the code dead letters carry
                    error = f"StateMachineDoesNotExist: {exc}"
            else:
                error = f"not a target Stepline delivers to: {delivery.arn}"
        except functions_registry.FunctionNotFound as exc:
            error = f"ResourceNotFoundException: {exc}"
        except Exception as exc:  # a delivery's failure is recorded, not raised into the loop
            error = f"{type(exc).__name__}: {exc}"
        async with unit_of_work(self._sessions) as session:
            await self._finish(session, delivery, error)
        if error is not None:
            log.warning("event delivery %s to %s: %s", delivery.id, delivery.arn, error)

    async def _finish(
        self, session: AsyncSession, delivery: registry.EventDelivery, error: str | None
    ) -> None:
        """Record the attempt: delivered, retried, or failed (then its dead letter, if it has one)."""
        if error is None:
            await registry.finish_delivery(session, delivery.id, error=None, retry_in=None)
            return
        if delivery.policy is None:
            retry = delivery.attempts < self._max_attempts
            await registry.finish_delivery(
                session, delivery.id, error=error, retry_in=self._retry_seconds if retry else None
            )
            return
        policy = retries.Policy.loads(delivery.policy)
        decision = retries.decide(
            policy, delivery.attempts, delivery.created_at, datetime.now(UTC), self._retry_seconds
        )
        finished = await registry.finish_delivery(
            session, delivery.id, error=error, retry_in=decision.retry_in
        )
        if finished is None or decision.retry_in is not None or policy.dead_letter_arn is None:
            return
        letter = retries.dead_letter(
            policy, delivery_id=delivery.id, target_arn=delivery.arn, body=delivery.payload, error=error,
            exhausted=decision.exhausted or "MaximumRetryAttempts", attempts=delivery.attempts,
            region=self._settings.region,
        )  # fmt: skip
        arn = policy.dead_letter_arn
        if ":event-bus/" in arn:
            entry = {
                "Source": "aws.scheduler", "DetailType": "Scheduler Dead-letter Event",
                "Detail": json.dumps(letter["Records"][0]), "Resources": [policy.schedule_arn],
            }  # fmt: skip
            await registry.add_inbound(session, bus.bus_name(arn), json.dumps(entry))
            return
        await registry.add_delivery_once(
            session, retries.dead_letter_id(delivery.id), (delivery.bus_name, delivery.rule_name), arn,
            json.dumps(letter), target_id=retries.DEAD_LETTER,
        )  # fmt: skip

    async def prune(self) -> int:
        """Remove delivered rows past the retention (in batches); how many."""
        removed = 0
        while True:
            async with unit_of_work(self._sessions) as session:
                batch = await registry.prune_delivered(
                    session, max_age=self._retention, keep=self._keep_delivered
                )
            removed += batch
            if batch < 1000:
                return removed
