"""NATS JetStream as an event source, against the server on this machine: per-subject order, only the
failed messages retried, the rest to the failure destination (a stream per test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest

from foundation.settings import Settings
from tests.integration.event_sources.kit import create, delete, killed_midway, routed_ids, sources, until
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]
URL = "nats://127.0.0.1:4222"

REPORTING = """import base64


def handler(event, context):
    return {"batchItemFailures": [{"itemIdentifier": r["nats"]["sequenceNumber"]} for r in event["Records"]
                                  if base64.b64decode(r["nats"]["data"]).startswith(b"fail")]}
"""


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    name = f"test-esm-{uuid.uuid4().hex[:12]}"
    client = await nats.connect(URL)
    jetstream = client.jetstream()
    await jetstream.add_stream(name=name, subjects=[f"{name}.>"])
    yield name
    await jetstream.delete_stream(name)
    await client.close()


async def test_order_per_subject_and_failed_messages_to_the_destination(
    service: FunctionService, stream: str
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": REPORTING})
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    client = await nats.connect(URL)
    jetstream = client.jetstream()
    for i in range(40):
        await jetstream.publish(f"{stream}.k{i % 4}", (f"fail-{i}" if i in (5, 22) else f"ok-{i}").encode())
    seen: list[str] = []
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:nats:us-east-1:123456789012:stream/{stream}",
        functionName=name, batchSize=10, startingPosition="TRIM_HORIZON", parallelizationFactor=2,
        maximumRetryAttempts=1, functionResponseTypes=["ReportBatchItemFailures"],
        destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    async with sources(service, seen, backoff=0.05, scan_seconds=0.2):

        async def drained() -> bool:
            routed = await routed_ids(service.sessions, destination, "stepline:nats")
            return len(set(seen)) == 38 and len(routed) >= 2

        await until(drained)
    assert set(seen) == {f"ok-{i}" for i in range(40) if i not in (5, 22)}
    for key in range(4):
        order = [int(s.split("-")[1]) for s in dict.fromkeys(seen) if int(s.split("-")[1]) % 4 == key]
        assert order == sorted(order)
    assert sorted(await routed_ids(service.sessions, destination, "stepline:nats")) == ["fail-22", "fail-5"]
    info = await jetstream.consumer_info(stream, f"stepline-{mapping.uuid}")
    assert info.num_ack_pending == 0
    await delete(service.sessions, mapping.uuid)
    await client.close()


SLOW = """import time


def handler(event, context):
    time.sleep(0.1)
    return {}
"""


async def test_a_leader_killed_mid_batch_loses_nothing(
    service: FunctionService, fn_settings: Settings, stream: str
) -> None:
    """SIGKILL the leading worker mid-stream: JetStream redelivers what it had not acknowledged to the
    next leader (after ack_wait), and every message is processed."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    client = await nats.connect(URL)
    jetstream = client.jetstream()
    for i in range(120):
        await jetstream.publish(f"{stream}.k{i % 3}", f"e-{i}".encode())
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:nats:us-east-1:123456789012:stream/{stream}",
        functionName=name, batchSize=5, startingPosition="TRIM_HORIZON",
    )  # fmt: skip
    first = await killed_midway(fn_settings)
    info = await jetstream.consumer_info(stream, f"stepline-{mapping.uuid}")
    assert info.num_ack_pending > 0, "killed with nothing in flight"
    seen: list[str] = []
    async with sources(service, seen, scan_seconds=0.2, lease_seconds=3.0):

        async def drained() -> bool:
            return set(first) | set(seen) == {f"e-{i}" for i in range(120)}

        await until(drained, 120)
    assert seen, "the successor processed what the killed leader left"
    await delete(service.sessions, mapping.uuid)
    await client.close()
