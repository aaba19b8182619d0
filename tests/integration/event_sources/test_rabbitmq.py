"""RabbitMQ queues as an event source, against the broker on this machine: every message ends
processed or on the on-failure destination (real sandboxes, real PostgreSQL, a queue per test)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aio_pika
import pytest
from prometheus_client import CollectorRegistry
from sqlmodel import col, select

from foundation.registry import event_invoke
from foundation.registry import event_source_mappings as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.event_sources.kit import create, delete, killed_midway, routed_ids, sources, until
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]
URL = "amqp://guest:guest@127.0.0.1:5672/"
ARN = "arn:aws:mq:us-east-1:123456789012:broker:rabbitmq"

PICKY = """def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    if any(b.startswith("fail") for b in bodies):
        raise ValueError("a poisoned batch")
    return {"n": len(bodies)}
"""
REPORTING = """def handler(event, context):
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                  if r["body"].startswith("fail")]}
"""


@pytest.fixture
async def queue() -> AsyncIterator[str]:
    name = f"test-esm-{uuid.uuid4().hex[:12]}"
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.declare_queue(name, durable=False)
    yield name
    await channel.queue_delete(name)
    await connection.close()


async def publish(queue: str, bodies: list[str]) -> None:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        for body in bodies:
            await channel.default_exchange.publish(
                aio_pika.Message(body.encode(), message_id=body), routing_key=queue
            )


async def depth(queue: str) -> int:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        (PICKY, {"bisectBatchOnFunctionError": True}),
        (REPORTING, {"functionResponseTypes": ["ReportBatchItemFailures"]}),
    ],
)
async def test_every_message_processed_or_routed_to_the_failure_destination(
    service: FunctionService, queue: str, code: str, extra: dict[str, object]
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": code})
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    bodies = [f"ok-{i}" for i in range(40)] + [f"fail-{i}" for i in range(3)]
    await publish(queue, bodies)
    seen: list[str] = []
    mapping = await create(
        service.sessions, eventSourceArn=ARN, queues=[queue], functionName=name, batchSize=10,
        maximumRetryAttempts=1, destinationConfig={"onFailure": {"destination": destination}}, **extra,
    )  # fmt: skip
    metrics = CollectorRegistry()
    async with sources(service, seen, metrics=metrics, backoff=0.05, scan_seconds=0.2):

        async def drained() -> bool:  # the outcome is recorded (metrics, last error) after the routing
            routed = await routed_ids(service.sessions, destination, "stepline:rabbitmq")
            if len(set(seen)) < 40 or len(routed) < 3:
                return False
            labels = {"mapping": mapping.uuid}
            failed = metrics.get_sample_value("stepline_event_source_records_failed_total", labels)
            async with unit_of_work(service.sessions) as session:
                recorded = (await registry.get_mapping(session, mapping.uuid)).last_error is not None
            delivered = metrics.get_sample_value("stepline_event_source_records_delivered_total", labels)
            return failed == 3 and delivered == 40 and recorded

        await until(drained)
        await until(lambda: _zero(queue))
    assert set(seen) == {b for b in bodies if b.startswith("ok")}
    routed = await routed_ids(service.sessions, destination, "stepline:rabbitmq")
    assert sorted(routed) == ["fail-0", "fail-1", "fail-2"]  # only the poisoned ones, each once
    async with unit_of_work(service.sessions) as session:
        row = await registry.get_mapping(session, mapping.uuid)
    assert row.state == registry.ENABLED
    assert row.last_error is not None
    labels = {"mapping": mapping.uuid}
    sample = metrics.get_sample_value
    assert sample("stepline_event_source_records_received_total", labels) == 43
    assert sample("stepline_event_source_records_delivered_total", labels) == 40
    assert sample("stepline_event_source_records_failed_total", labels) == 3
    assert (sample("stepline_event_source_oldest_record_age_seconds", labels) or 0) >= 0
    await delete(service.sessions, mapping.uuid)


async def _zero(queue: str) -> bool:
    return await depth(queue) == 0


SLOW = """import os
import time


def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    if any(b.startswith("crash") for b in bodies):
        os._exit(3)
    if any(b.startswith("hang") for b in bodies):
        time.sleep(30)
    time.sleep(0.1)
    return {}
"""


async def test_a_worker_killed_mid_batch_loses_nothing(
    service: FunctionService, fn_settings: Settings, queue: str
) -> None:
    """SIGKILL the leading worker mid-stream: its unacked messages return to the queue and the next
    leader processes them; with a crashing and a timing-out message among them, every message ends
    processed or on the failure destination."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW}, timeout=1)
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    oks = [f"ok-{i}" for i in range(150)]
    await publish(queue, [*oks[:75], "crash-0", "hang-0", *oks[75:]])
    mapping = await create(
        service.sessions, eventSourceArn=ARN, queues=[queue], functionName=name, batchSize=5,
        maximumRetryAttempts=0, bisectBatchOnFunctionError=True,
        destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    first = await killed_midway(fn_settings)
    seen: list[str] = []
    async with sources(service, seen, backoff=0.05, scan_seconds=0.3):

        async def drained() -> bool:
            routed = await routed_ids(service.sessions, destination, "stepline:rabbitmq")
            return set(first) | set(seen) >= set(oks) and {"crash-0", "hang-0"} <= set(routed)

        await until(drained, 120)
        await until(lambda: _zero(queue))
    assert set(first) | set(seen) == set(oks)  # every one processed (some twice: at-least-once)
    assert seen, "the successor processed what the killed worker left"
    assert sorted(await routed_ids(service.sessions, destination, "stepline:rabbitmq")) == [
        "crash-0",
        "hang-0",
    ]
    await delete(service.sessions, mapping.uuid)


async def test_filter_criteria_hand_over_only_matching_messages(service: FunctionService, queue: str) -> None:
    """Messages no pattern matches are consumed without an invocation (as Lambda's SQS filters)."""
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    bodies = [json.dumps({"kind": "a" if i % 3 == 0 else "b", "i": i}) for i in range(30)] + ["not json"]
    await publish(queue, bodies)
    seen: list[str] = []
    mapping = await create(
        service.sessions, eventSourceArn=ARN, queues=[queue], functionName=name, batchSize=10,
        filterCriteria={"filters": [{"pattern": '{"body": {"kind": ["a"]}}'}]},
    )  # fmt: skip
    async with sources(service, seen, scan_seconds=0.2):
        await until(lambda: _zero(queue))
    assert sorted(json.loads(s)["i"] for s in seen) == list(range(0, 30, 3))
    await delete(service.sessions, mapping.uuid)


async def test_records_older_than_the_maximum_age_go_to_the_destination_uninvoked(
    service: FunctionService, queue: str
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        old = datetime.now(UTC) - timedelta(hours=1)
        await channel.default_exchange.publish(aio_pika.Message(b"stale", timestamp=old), routing_key=queue)
        await channel.default_exchange.publish(aio_pika.Message(b"fresh"), routing_key=queue)
    seen: list[str] = []
    mapping = await create(
        service.sessions, eventSourceArn=ARN, queues=[queue], functionName=name, batchSize=10,
        maximumRecordAgeInSeconds=60, destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    async with sources(service, seen, scan_seconds=0.2):
        await until(lambda: _zero(queue))
    assert seen == ["fresh"]
    async with unit_of_work(service.sessions) as session:
        rows = (
            await session.exec(
                select(event_invoke.DestinationDelivery).where(
                    col(event_invoke.DestinationDelivery.destination) == destination
                )
            )
        ).all()
    assert [json.loads(r.record)["requestContext"]["condition"] for r in rows] == ["RecordAgeExceeded"]
    assert [rec["body"] for r in rows for rec in json.loads(r.record)["requestPayload"]["Records"]] == [
        "stale"
    ]
    await delete(service.sessions, mapping.uuid)


async def test_without_a_destination_rabbitmq_dead_letters_what_failed_for_good(
    service: FunctionService,
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": PICKY})
    queue, dead = f"test-esm-{uuid.uuid4().hex[:12]}", f"test-esm-dlq-{uuid.uuid4().hex[:12]}"
    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.declare_queue(dead)
    await channel.declare_queue(
        queue, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead}
    )
    try:
        await publish(queue, ["ok-1", "fail-1"])
        mapping = await create(
            service.sessions, eventSourceArn=ARN, queues=[queue], functionName=name, batchSize=1,
            maximumRetryAttempts=0,
        )  # fmt: skip
        async with sources(service, None, backoff=0.05, scan_seconds=0.2):
            await until(lambda: _zero(queue))

            async def one_dead() -> bool:
                return await depth(dead) == 1

            await until(one_dead)
        letter = await (await channel.get_queue(dead)).get(timeout=5)
        assert letter is not None and letter.body == b"fail-1"
        await letter.ack()
        await delete(service.sessions, mapping.uuid)
    finally:
        await channel.queue_delete(queue)
        await channel.queue_delete(dead)
        await connection.close()
