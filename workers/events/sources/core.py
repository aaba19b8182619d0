"""The common core of event source pollers: one batch handed to a function with Lambda's semantics.

``Batcher.process(records)`` invokes the mapping's function with ``{"Records": [...]}`` and returns
which records are done (succeeded, or failed for good and handed to the on-failure destination) so the
poller acknowledges them; nothing is acknowledged before its outcome is recorded, so a crash at any
point redelivers (at-least-once). What it does, as Lambda does:

* a function error (a crash, a timeout, a throttle) retries the batch, up to ``MaximumRetryAttempts``
  (-1: without limit), with a short backoff; ``BisectBatchOnFunctionError`` splits a failing batch in
  two and retries each half (a split does not count as a retry);
* ``ReportBatchItemFailures``: the function answers ``{"batchItemFailures": [{"itemIdentifier": id}]}``
  and only those are retried (a stream source retries from the first failed record on, to keep the
  order); an answer naming an unknown or empty id fails the whole batch;
* a record older than ``MaximumRecordAgeInSeconds`` is not invoked again;
* a record that failed for good goes to ``DestinationConfig.OnFailure`` (a function: an Event
  invocation; a state machine or a queue: the asynchronous destinations' outbox), with the records
  themselves in the invocation record, then it is acknowledged; without a destination the poller
  decides (``Outcome.failed``): RabbitMQ dead-letters, a stream drops it as Lambda does, logged and
  counted either way.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foundation.registry import event_invoke
from foundation.registry import event_source_mappings as registry
from foundation.registry import functions as function_registry
from foundation.registry.database import SessionMaker, unit_of_work
from statemachine import FunctionResult, function_arn, parse_function_ref
from workers.events.patterns import Pattern, compile_pattern
from workers.events.sources.metrics import SourceMetrics
from workers.functions.destinations import Destinations
from workers.functions.errors import InvokeError

log = logging.getLogger(__name__)
Invoke = Callable[[str, bytes, str | None], Awaitable[FunctionResult]]
RETRY_EXHAUSTED, RECORD_AGE_EXCEEDED = "RetryAttemptsExhausted", "RecordAgeExceeded"


@dataclass(slots=True)
class Record:
    """One message or stream entry as the function sees it (``event``), and what the core needs."""

    id: str
    """The item identifier of ``batchItemFailures`` (messageId, sequenceNumber)."""
    event: dict[str, Any]
    arrived: float
    """When the broker got it (epoch seconds): its age."""
    key: str = ""
    """The partition key (a stream's ordering unit)."""
    handle: Any = None
    """The poller's own (a message to ack, an entry id)."""


@dataclass(slots=True)
class Outcome:
    succeeded: list[Record] = field(default_factory=list)
    routed: list[Record] = field(default_factory=list)
    """Failed for good and written to the on-failure destination."""
    failed: list[Record] = field(default_factory=list)
    """Failed for good with no destination: the poller decides (dead-letter, drop)."""


@dataclass(frozen=True, slots=True)
class MappingView:
    """The settings of one mapping a poller runs with (a snapshot: a change restarts the poller)."""

    uuid: str
    function_name: str
    qualifier: str | None
    source_arn: str
    source_kind: str
    source_name: str
    batch_size: int
    batching_window_seconds: int
    starting_position: str | None
    starting_timestamp: datetime | None
    parallelization_factor: int
    report_item_failures: bool
    bisect_on_error: bool
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    on_failure: str | None
    filters: tuple[Pattern, ...]
    ordered: bool
    broker_sealed: str | None = None
    """The mapping's own broker URI, sealed (``brokers.url_of``); None: the operator's broker."""

    @classmethod
    def of(cls, row: registry.EventSourceMapping) -> MappingView:
        criteria = row.filter_criteria or {}
        filters = tuple(compile_pattern(f["Pattern"]) for f in criteria.get("Filters", []))
        return cls(
            uuid=row.uuid, function_name=row.function_name, qualifier=row.qualifier,
            source_arn=row.source_arn,
            source_kind=row.source_kind, source_name=row.source_name, batch_size=row.batch_size,
            batching_window_seconds=row.batching_window_seconds, starting_position=row.starting_position,
            starting_timestamp=row.starting_timestamp, parallelization_factor=row.parallelization_factor,
            report_item_failures=row.report_item_failures, bisect_on_error=row.bisect_on_error,
            maximum_retry_attempts=row.maximum_retry_attempts,
            maximum_record_age_seconds=row.maximum_record_age_seconds, on_failure=row.on_failure,
            filters=filters, ordered=row.source_kind != "rabbitmq", broker_sealed=row.broker_sealed,
        )  # fmt: skip


class Batcher:
    """Processes the batches of one mapping (see the module's docstring)."""

    def __init__(
        self, mapping: MappingView, invoke: Invoke, sessions: SessionMaker, destinations: Destinations,
        metrics: SourceMetrics, region: str, *, backoff: float = 0.2,
    ) -> None:  # fmt: skip
        self.mapping = mapping
        self._invoke = invoke
        self._sessions = sessions
        self._destinations = destinations
        self._metrics = metrics
        self._region = region
        self._backoff = backoff
        self.last_error: str | None = None
        self._last_report = 0.0

    async def process(self, records: list[Record]) -> Outcome:
        outcome = Outcome()
        if not records:
            return outcome
        label = self.mapping.uuid
        self._metrics.received.labels(label).inc(len(records))
        self._metrics.oldest_age.labels(label).set(max(0.0, time.time() - min(r.arrived for r in records)))
        chosen = [r for r in records if self._wanted(r)]
        outcome.succeeded.extend(r for r in records if not self._wanted(r))  # filtered out: consumed
        await self._run(chosen, 0, outcome)
        self._metrics.delivered.labels(label).inc(len(outcome.succeeded))
        self._metrics.failed.labels(label).inc(len(outcome.routed) + len(outcome.failed))
        await self._report(outcome)
        return outcome

    def _wanted(self, record: Record) -> bool:
        if not self.mapping.filters:
            return True
        view = filter_view(record.event)
        return any(p.matches(view) for p in self.mapping.filters)

    async def _run(self, records: list[Record], attempts: int, outcome: Outcome) -> None:
        """Invoke ``records`` until each succeeded or failed for good (``attempts`` made so far)."""
        pending, response = records, ""
        while pending:
            limit = self.mapping.maximum_record_age_seconds
            if limit >= 0:
                now = time.time()
                old = [r for r in pending if now - r.arrived > limit]
                if old:
                    await self._give_up(old, RECORD_AGE_EXCEEDED, attempts, response, outcome)
                    pending = [r for r in pending if now - r.arrived <= limit]
                    if not pending:
                        return
            failed, blamed, response, whole = await self._attempt(pending)
            attempts += 1
            done = {id(r) for r in failed}
            outcome.succeeded.extend(r for r in pending if id(r) not in done)
            if not failed:
                return
            if whole and self.mapping.bisect_on_error and len(failed) > 1:
                half = len(failed) // 2
                await self._run(failed[:half], attempts - 1, outcome)
                await self._run(failed[half:], attempts - 1, outcome)
                return
            retries = self.mapping.maximum_retry_attempts
            if retries >= 0 and attempts > retries:  # only the records the function failed
                blame = {id(r) for r in blamed}
                outcome.succeeded.extend(r for r in failed if id(r) not in blame)
                await self._give_up(blamed, RETRY_EXHAUSTED, attempts, response, outcome)
                return
            await asyncio.sleep(min(self._backoff * 2 ** min(attempts - 1, 5), 5.0))
            pending = failed

    async def _attempt(self, records: list[Record]) -> tuple[list[Record], list[Record], str, bool]:
        """One invocation: (the records to retry, those the function failed, the response, whether the
        whole batch failed)."""
        payload = json.dumps({"Records": [r.event for r in records]}, separators=(",", ":")).encode()
        try:
            result = await self._invoke(self.mapping.function_name, payload, self.mapping.qualifier)
        except InvokeError as exc:
            self.last_error = f"{exc.code}: {exc.message}"
            return records, records, json.dumps({"errorType": exc.code, "errorMessage": exc.message}), True
        response = result.payload.decode(errors="replace")
        if result.function_error is not None:
            self.last_error = f"{result.error_type or 'Unhandled'}: {response[:500]}"
            return records, records, response, True
        if not self.mapping.report_item_failures:
            return [], [], response, False
        failed_ids = _item_failures(response)
        if failed_ids is None or failed_ids - {r.id for r in records}:
            self.last_error = "The function's batchItemFailures named an item not in the batch (or none)"
            return records, records, response, True
        blamed = [r for r in records if r.id in failed_ids]
        if not blamed:
            return [], [], response, False
        if self.mapping.ordered:  # a stream: from the first failed record on
            first = next(i for i, r in enumerate(records) if r.id in failed_ids)
            return records[first:], blamed, response, False
        return blamed, blamed, response, False

    async def _give_up(
        self, records: list[Record], condition: str, attempts: int, response: str, outcome: Outcome
    ) -> None:
        destination = self.mapping.on_failure
        if destination is None:
            log.warning(
                "event source mapping %s: %d records failed for good (%s)", self.mapping.uuid, len(records),
                condition,
            )  # fmt: skip
            self.last_error = f"{condition}: {len(records)} records failed and no on-failure destination"
            outcome.failed.extend(records)
            return
        self.last_error = f"{condition}: {len(records)} records sent to {destination}"
        record = self._failure_record(records, condition, attempts, response)
        outbox = False
        async with unit_of_work(self._sessions) as session:
            if ":lambda:" in destination:
                name, qualifier = parse_function_ref(destination)
                await function_registry.enqueue_event(session, name, qualifier, record)
            else:
                await event_invoke.add_delivery(session, str(uuid.uuid4()), destination, record)
                outbox = True
        if outbox:
            await self._destinations.deliver_due()
        outcome.routed.extend(records)

    def _failure_record(self, records: list[Record], condition: str, attempts: int, response: str) -> str:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        mapping = self.mapping
        document: dict[str, Any] = {
            "version": "1.0",
            "timestamp": now,
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function_arn(
                    mapping.function_name, mapping.qualifier or "$LATEST", self._region
                ),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": _json_or_text(response),
            "SourceBatchInfo": {
                "eventSourceMappingUuid": mapping.uuid,
                "eventSourceArn": mapping.source_arn,
                "source": f"{mapping.source_kind}:{mapping.source_name}",
                "batchSize": len(records),
                "firstRecordId": records[0].id,
                "lastRecordId": records[-1].id,
            },
            "requestPayload": {"Records": [r.event for r in records]},
        }
        return json.dumps(document, separators=(",", ":"))

    async def _report(self, outcome: Outcome) -> None:
        """The mapping's last processing result and error, written at most once a second."""
        now = time.monotonic()
        trouble = bool(outcome.routed or outcome.failed)
        if not trouble and now - self._last_report < 1.0:
            return
        self._last_report = now
        result = "PROBLEM: records failed" if trouble else "OK"
        async with unit_of_work(self._sessions) as session:
            await registry.report(session, self.mapping.uuid, result, self.last_error if trouble else None)


def filter_view(event: dict[str, Any]) -> dict[str, Any]:
    """What a FilterCriteria pattern sees of a record: an SQS-like record with its ``body`` parsed when it
    is JSON; a stream record's ``redis`` member with ``data`` parsed (base64, then JSON when it is)."""
    if "redis" in event:
        inner = dict(event["redis"])
        if inner.get("data") is not None:
            inner["data"] = _json_or_text(base64.b64decode(inner["data"]).decode(errors="replace"))
        return inner
    return {**event, "body": _json_or_text(event.get("body", ""))}


def _item_failures(response: str) -> set[str] | None:
    """The ids a ``batchItemFailures`` answer names; empty when none failed; None when malformed."""
    try:
        document = json.loads(response)
    except ValueError:
        return set()
    if not isinstance(document, dict) or not document.get("batchItemFailures"):
        return set()
    found: set[str] = set()
    for item in document["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return None
        found.add(identifier)
    return found


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
