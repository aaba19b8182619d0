"""Redis Streams as an event source, against the server on this machine: per-key order, only failed
entries retried, and a crashed leader's pending entries reclaimed (a stream per test)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from foundation.settings import Settings
from tests.integration.event_sources.kit import create, delete, killed_midway, routed_ids, sources, until
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.redis_streams import group_name
from workers.events.sources.runner import EventSources
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]
URL = "redis://127.0.0.1:6379/0"

REPORTING = """def handler(event, context):
    return {"batchItemFailures": [{"itemIdentifier": r["redis"]["sequenceNumber"]} for r in event["Records"]
                                  if r["redis"]["fields"]["id"].startswith("fail")]}
"""


@pytest.fixture
async def stream() -> AsyncIterator[str]:
    name = f"test-esm-{uuid.uuid4().hex[:12]}"
    client = Redis.from_url(URL)
    yield name
    await client.delete(name)
    await client.aclose()


def fast(service: FunctionService, seen: list[str]) -> EventSources:
    return sources(service, seen, backoff=0.05, scan_seconds=0.2, lease_seconds=2.0)


async def test_order_per_key_and_failed_items_to_the_destination(
    service: FunctionService, stream: str
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": REPORTING})
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    client = Redis.from_url(URL)
    ids = []
    for i in range(60):
        ident = f"fail-{i}" if i in (7, 31) else f"ok-{i}"
        ids.append(ident)
        await client.xadd(stream, {"id": ident, "key": f"k{i % 4}", "data": json.dumps({"i": i})})
    seen: list[str] = []
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:redis:us-east-1:123456789012:stream/{stream}",
        functionName=name, batchSize=10, startingPosition="TRIM_HORIZON", parallelizationFactor=4,
        maximumRetryAttempts=2, functionResponseTypes=["ReportBatchItemFailures"],
        destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    async with fast(service, seen):

        async def drained() -> bool:
            if len(set(seen)) < 58:
                return False
            return int((await client.xpending(stream, group_name(mapping.uuid)))["pending"]) == 0

        await until(drained)
    assert set(seen) == {i for i in ids if i.startswith("ok")}
    for key in range(4):  # each key's entries in the stream's order (first successes)
        order = [int(s.split("-")[1]) for s in dict.fromkeys(seen) if int(s.split("-")[1]) % 4 == key]
        assert order == sorted(order)
    assert sorted(await routed_ids(service.sessions, destination, "stepline:redis")) == ["fail-31", "fail-7"]
    await delete(service.sessions, mapping.uuid)
    await client.aclose()


async def test_a_crashed_leaders_pending_entries_are_reclaimed(service: FunctionService, stream: str) -> None:
    """Entries read by a leader that died before acknowledging them (left pending under its consumer
    name) are processed by the next leader."""
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    client = Redis.from_url(URL)
    for i in range(25):
        await client.xadd(stream, {"id": f"e-{i}"})
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:redis:us-east-1:123456789012:stream/{stream}",
        functionName=name, batchSize=10, startingPosition="TRIM_HORIZON",
    )  # fmt: skip
    group = group_name(mapping.uuid)
    await client.xgroup_create(stream, group, id="0")
    taken = await client.xreadgroup(group, "dead-leader", {stream: ">"}, count=15)  # then "crashed"
    assert len(taken[0][1]) == 15
    seen: list[str] = []
    async with fast(service, seen):

        async def drained() -> bool:
            return len(set(seen)) == 25 and int((await client.xpending(stream, group))["pending"]) == 0

        await until(drained)
    assert set(seen) == {f"e-{i}" for i in range(25)}
    await delete(service.sessions, mapping.uuid)
    await client.aclose()


SLOW = """import time


def handler(event, context):
    time.sleep(0.1)
    return {}
"""


async def test_a_leader_killed_mid_batch_loses_nothing(
    service: FunctionService, fn_settings: Settings, stream: str
) -> None:
    """SIGKILL the leading worker mid-stream: the next leader (once the lease expired) claims the entries
    it had read but not acknowledged, and every entry is processed."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    client = Redis.from_url(URL)
    for i in range(150):
        await client.xadd(stream, {"id": f"e-{i}", "key": f"k{i % 3}"})
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:redis:us-east-1:123456789012:stream/{stream}",
        functionName=name, batchSize=5, startingPosition="TRIM_HORIZON",
    )  # fmt: skip
    first = await killed_midway(fn_settings)
    group = group_name(mapping.uuid)
    assert int((await client.xpending(stream, group))["pending"]) > 0, "killed with nothing in flight"
    seen: list[str] = []
    async with fast(service, seen):

        async def drained() -> bool:
            if set(first) | set(seen) != {f"e-{i}" for i in range(150)}:
                return False
            return int((await client.xpending(stream, group))["pending"]) == 0

        await until(drained, 120)
    assert seen, "the successor processed what the killed leader left"
    await delete(service.sessions, mapping.uuid)
    await client.aclose()
