"""Destinations of asynchronous invocations: the invocation record of an outcome, and its delivery.

When an Event invocation ends (succeeded; failed after its retries; or dropped, too old), its
function's ``EventInvokeConfig`` may name a destination for that outcome. The record (Lambda's shape:
``version``, ``timestamp``, ``requestContext``, ``requestPayload``, ``responseContext``,
``responsePayload``) is written in the same transaction that records the outcome:

* a function destination: as an Event invocation of that function (queued with the outcome);
* an event bus: as an event on it (source ``lambda``, detail-type ``Lambda Function Invocation
  Result - Success|Failure``, the record as detail), queued for routing (``workers.events``);
* a state machine or an SQS queue: as a ``DestinationDelivery`` (an outbox row), then delivered by
  ``Destinations.deliver``. A state machine's execution is named after the source's request id and a
  queue's message deduplicated by it, so a delivery retried after a crash starts nothing twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import event_bus, event_invoke
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import JSON, ServiceCall, StatesError, function_arn, parse_function_ref
from workers.integrations import Integrations
from workers.integrations import for_settings as integrations_for
from workers.named_starts import NamedStarts

log = logging.getLogger(__name__)
SUCCESS, RETRIES_EXHAUSTED, EVENT_AGE_EXCEEDED = "Success", "RetriesExhausted", "EventAgeExceeded"
DELIVERY_RETRY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an Event invocation ended, for its record."""

    condition: str
    attempts: int
    response: str | None = None
    """The function's response (or error document); None when it was not invoked (too old)."""
    function_error: str | None = None
    executed_version: str = "$LATEST"


def _value(text: str) -> JSON:
    try:
        found: JSON = json.loads(text)
    except ValueError:
        return text
    return found


def invocation_record(event: registry.FunctionEvent, outcome: Outcome, region: str) -> str:
    """Lambda's invocation record of ``event``'s outcome, as JSON text."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.id,
            "functionArn": function_arn(event.function_name, event.qualifier or "$LATEST", region),
            "condition": outcome.condition,
            "approximateInvokeCount": outcome.attempts,
        },
        "requestPayload": _value(event.payload),
    }
    if outcome.response is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": outcome.executed_version}
        if outcome.function_error is not None:
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
        record["responsePayload"] = _value(outcome.response)
    return json.dumps(record, separators=(",", ":"))


async def route_outcome(
    session: AsyncSession,
    event: registry.FunctionEvent,
    config: event_invoke.EventInvokeConfig | None,
    outcome: Outcome,
    region: str,
) -> bool:
    """Write ``outcome``'s record for its destination, in the caller's transaction (the one recording
    the outcome); True when a delivery waits in the outbox."""
    if config is None:
        return False
    destination = config.on_success if outcome.condition == SUCCESS else config.on_failure
    if destination is None:
        return False
    record = invocation_record(event, outcome, region)
    if ":lambda:" in destination:
        name, qualifier = parse_function_ref(destination)
        await registry.enqueue_event(session, name, qualifier, record)
        return False
    if ":events:" in destination and ":event-bus/" in destination:  # routed by workers.events
        kind = "Success" if outcome.condition == SUCCESS else "Failure"
        entry = {
            "Source": "lambda",
            "DetailType": f"Lambda Function Invocation Result - {kind}",
            "Detail": record,
            "Resources": [function_arn(event.function_name, event.qualifier or "$LATEST", region)],
        }
        await event_bus.add_inbound(session, destination.rsplit("event-bus/", 1)[1], json.dumps(entry))
        return False
    await event_invoke.add_delivery(session, event.id, destination, record)
    return True


class Destinations:
    """Delivers the outbox's records to state machines and queues."""

    def __init__(self, settings: Settings, sessions: SessionMaker) -> None:
        self._settings = settings
        self._sessions = sessions
        self._starts = NamedStarts(settings, sessions)
        self._integrations: Integrations | None = None

    async def deliver_due(self) -> None:
        """Deliver every due record (a crashed deliverer's too, once its lease expired)."""
        while True:
            async with unit_of_work(self._sessions) as session:
                due = await event_invoke.claim_deliveries(session, 8, lease_seconds=DELIVERY_RETRY_SECONDS)
            if not due:
                return
            for delivery in due:
                error = await self._deliver(delivery)
                retry = error is not None and delivery.attempts < 3
                async with unit_of_work(self._sessions) as session:
                    await event_invoke.finish_delivery(
                        session, delivery.id, error=error, retry_in=DELIVERY_RETRY_SECONDS if retry else None
                    )
                if error is not None:
                    log.warning("destination %s: %s", delivery.destination, error)

    async def _deliver(self, delivery: event_invoke.DestinationDelivery) -> str | None:
        parts = delivery.destination.split(":")
        try:
            if len(parts) == 7 and parts[2] == "states" and parts[5] == "stateMachine":
                await self._starts.start_latest(parts[6], delivery.id, delivery.record)
            elif len(parts) == 6 and parts[2] == "sqs":
                await self._send_message(parts[5], delivery.id, delivery.record)
            else:
                return f"not a destination Stepline delivers to: {delivery.destination}"
        except StatesError as exc:
            return f"{exc.name}: {exc.cause}"
        except Exception as exc:  # a delivery's failure is recorded, not raised into the queue's loop
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _send_message(self, queue: str, deduplication_id: str, body: str) -> None:
        if self._integrations is None:
            self._integrations = integrations_for(self._settings, self._sessions)
        region = self._settings.region
        found = json.loads(
            await self._integrations.call(
                ServiceCall("aws-sdk", "sqs", "getQueueUrl", json.dumps({"QueueName": queue}), region)
            )
        )
        message: dict[str, Any] = {"QueueUrl": found["QueueUrl"], "MessageBody": body}
        if queue.endswith(".fifo"):
            message |= {"MessageGroupId": "lambda-destination", "MessageDeduplicationId": deduplication_id}
        await self._integrations.call(
            ServiceCall("aws-sdk", "sqs", "sendMessage", json.dumps(message), region)
        )
