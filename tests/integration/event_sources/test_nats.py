"""NATS JetStream as an event source, against the server on this machine: per-subject order, only the
failed messages retried, the rest to the failure destination (a stream per test)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from prometheus_client import CollectorRegistry

from foundation.settings import Settings
from tests.integration.event_sources.kit import create, delete, recording, routed_ids, spawn
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.runner import EventSources, source_invoker
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


async def until(check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


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
    events = service.settings.event_sources.model_copy(update={"scan_seconds": 0.2})
    sources = EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions,
        recording(source_invoker(service), seen), metrics_registry=CollectorRegistry(), backoff=0.05,
    )  # fmt: skip
    async with sources:

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
    child = spawn(fn_settings)
    assert child.stdout is not None
    first: list[str] = []
    try:
        while len(first) < 30:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, "the worker ended"
            if line.startswith("ok "):
                first.append(line.split()[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    rest = child.stdout.read().split()
    child.stdout.close()
    first += [w for w, prev in zip(rest[1:], rest, strict=False) if prev == "ok"]
    info = await jetstream.consumer_info(stream, f"stepline-{mapping.uuid}")
    assert info.num_ack_pending > 0, "killed with nothing in flight"
    seen: list[str] = []
    events = service.settings.event_sources.model_copy(update={"scan_seconds": 0.2, "lease_seconds": 3.0})
    sources = EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions,
        recording(source_invoker(service), seen), metrics_registry=CollectorRegistry(),
    )  # fmt: skip
    async with sources:

        async def drained() -> bool:
            return set(first) | set(seen) == {f"e-{i}" for i in range(120)}

        await until(drained, 120)
    assert seen, "the successor processed what the killed leader left"
    await delete(service.sessions, mapping.uuid)
    await client.close()
