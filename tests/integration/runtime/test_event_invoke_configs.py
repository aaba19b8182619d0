"""The event queue honours a function's EventInvokeConfig: MaximumRetryAttempts bounds the attempts
and MaximumEventAgeInSeconds drops an event grown too old, each outcome's record reaching the
OnFailure destination (real sandboxes, real PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from foundation.registry import event_invoke
from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from tests.integration.function_kit import call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]

FAILING = "def handler(event, context):\n    raise RuntimeError('no')\n"
RECORDER = "def handler(event, context):\n    return event\n"


async def _records(service: FunctionService, recorder: str, count: int) -> list[Any]:
    deadline = time.monotonic() + 30
    while True:
        async with unit_of_work(service.sessions) as session:
            query = select(registry.FunctionEvent).where(
                col(registry.FunctionEvent.function_name) == recorder
            )
            rows = list((await session.exec(query)).all())
        if len(rows) >= count or time.monotonic() > deadline:
            return [json.loads(r.payload) for r in rows]
        await asyncio.sleep(0.1)


async def _configure(service: FunctionService, source: str, recorder: str, **settings: Any) -> None:
    destination = f"arn:aws:lambda:us-east-1:000000000000:function:{recorder}"
    async with unit_of_work(service.sessions) as session:
        await event_invoke.put_config(
            session, source, None, event_invoke.EventInvokeSettings(on_failure=destination, **settings)
        )


async def test_maximum_retry_attempts_bounds_the_attempts(service: FunctionService) -> None:
    source = await deploy(service, unique("failing"), {"app.py": FAILING})
    recorder = await deploy(service, unique("recorder"), {"app.py": RECORDER})
    await _configure(service, source, recorder, maximum_retry_attempts=1)
    queued = await call(service, source, {"n": 1}, invocation_type="Event")
    [record] = await _records(service, recorder, 1)
    assert record["requestContext"]["requestId"] == queued.request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "no"
    async with unit_of_work(service.sessions) as session:
        event = await registry.get_event(session, queued.request_id)
    assert event is not None and (event.status, event.attempts) == ("FAILED", 2)


async def test_an_event_older_than_its_maximum_age_is_dropped_with_a_record(service: FunctionService) -> None:
    source = await deploy(service, unique("aged"), {"app.py": RECORDER})
    recorder = await deploy(service, unique("recorder"), {"app.py": RECORDER})
    await _configure(service, source, recorder, maximum_event_age_seconds=60)
    async with unit_of_work(service.sessions) as session:
        event = await registry.enqueue_event(session, source, None, json.dumps({"old": True}))
        past = registry.utcnow() - timedelta(seconds=120)
        await session.exec(  # type: ignore[call-overload]
            text("UPDATE function_event SET created_at = :past WHERE id = :id").bindparams(
                past=past, id=event.id
            )
        )
    [record] = await _records(service, recorder, 1)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"old": True}
    assert "responsePayload" not in record and "responseContext" not in record
    async with unit_of_work(service.sessions) as session:
        dropped = await registry.get_event(session, event.id)
    assert dropped is not None and (dropped.status, dropped.function_error) == ("FAILED", "EventAgeExceeded")
