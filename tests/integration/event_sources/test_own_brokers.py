"""A mapping's own broker URI (an allowed loopback host, with a password) carries records end to end:
the worker unseals it and reads the stream through it, as through the operator's broker."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis.asyncio import Redis

from api import event_source_mapping_schemas as schemas
from api.services import event_source_mappings as use_cases
from foundation.registry.database import unit_of_work
from tests.integration.event_sources.kit import recording
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]


async def test_a_mappings_own_redis_uri_carries_its_records(service: FunctionService) -> None:
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    stream = f"test-own-{uuid.uuid4().hex[:12]}"
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    for i in range(5):
        await client.xadd(stream, {"id": f"e-{i}"})
    body = schemas.MappingIn.model_validate({
        "eventSourceArn": f"arn:aws:redis:us-east-1:123456789012:stream/{stream}", "functionName": name,
        "startingPosition": "TRIM_HORIZON",
        "selfManagedEventSource": {"endpoints": {"BROKER_URL": ["redis://default:any-Pa55@localhost:6379/0"]}},
    })  # fmt: skip
    async with unit_of_work(service.sessions) as session:
        made = await use_cases.create_mapping(session, body, "us-east-1", service.settings)
    assert made.self_managed_event_source is not None
    assert made.self_managed_event_source.endpoints == {"BROKER_URL": ["redis://default@localhost:6379/0"]}
    events = (
        service.settings.event_sources.model_copy(  # the operator's Redis unreachable: only the own URI works
            update={
                "scan_seconds": 0.2,
                "lease_seconds": 2.0,
                "redis_url": SecretStr("redis://127.0.0.1:1/0"),
            }
        )
    )
    seen: list[str] = []
    async with EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions,
        recording(source_invoker(service), seen), metrics_registry=CollectorRegistry(),
    ):  # fmt: skip
        deadline = time.monotonic() + 60
        while len(set(seen)) < 5:
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.1)
    assert sorted(set(seen)) == [f"e-{i}" for i in range(5)]
    async with unit_of_work(service.sessions) as session:
        await use_cases.delete_mapping(session, made.uuid, "us-east-1")
    await client.delete(stream)
    await client.aclose()
