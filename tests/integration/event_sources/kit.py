"""Helpers of the event source tests: mappings made through the service, a recording invoker (the ids
of the records each successful invocation processed), the sources run with short tunables, a leading
worker killed mid-stream, and the destination outbox counted."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from sqlmodel import col, select

from api import event_source_mapping_schemas as schemas
from api.services import event_source_mappings as use_cases
from foundation.registry import event_invoke
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from workers.events.sources.core import Invoke
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

ID_OF: dict[str, Callable[[dict[str, object]], str]] = {
    "stepline:rabbitmq": lambda r: str(r["body"]),
    "stepline:redis": lambda r: str(r["redis"]["fields"]["id"]),  # type: ignore[index]
    "stepline:nats": lambda r: base64.b64decode(str(r["nats"]["data"])).decode(),  # type: ignore[index]
    "stepline:postgres": lambda r: _change_id(r["dynamodb"], str(r["eventName"])),  # type: ignore[arg-type]
}


def _change_id(data: dict[str, Any], name: str) -> str:
    """``KEY:EVENTNAME:SEQUENCE`` of a table change (the key's values joined by ``/``)."""
    key = "/".join(str(next(iter(v.values()))) for v in data["Keys"].values())
    return f"{key}:{name}:{int(data['SequenceNumber'])}"


def _item_id(record: dict[str, Any]) -> str:
    """What ``batchItemFailures`` names a record by."""
    if "dynamodb" in record:
        return str(record["dynamodb"]["SequenceNumber"])
    stream: dict[str, Any] = record.get("redis") or record.get("nats") or {}
    return str(record.get("messageId") or stream["sequenceNumber"])


def recording(invoke: Invoke, seen: list[str], echo: bool = False) -> Invoke:
    """``invoke``, noting the ids (a RabbitMQ body, a stream entry's ``id`` field) of each invocation's
    records that the function did not fail or report as failed; ``echo`` prints them (flushed) too."""

    async def run(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        result = await invoke(name, payload, qualifier)
        if result.function_error is None:
            records = json.loads(payload)["Records"]
            failed = {f["itemIdentifier"] for f in json.loads(result.payload).get("batchItemFailures", [])}
            for record in records:
                if _item_id(record) not in failed:
                    seen.append(ID_OF[record["eventSource"]](record))
                    if echo:
                        print("ok", seen[-1], flush=True)
        return result

    return run


async def create(sessions: SessionMaker, **fields: object) -> schemas.MappingPublic:
    async with unit_of_work(sessions) as session:
        return await use_cases.create_mapping(session, schemas.MappingIn.model_validate(fields), "us-east-1")


async def delete(sessions: SessionMaker, uuid: str) -> None:
    async with unit_of_work(sessions) as session:
        await use_cases.delete_mapping(session, uuid, "us-east-1")


async def routed_ids(sessions: SessionMaker, destination: str, key: str) -> list[str]:
    """The ids of the records the outbox holds for ``destination`` (failed for good)."""
    async with unit_of_work(sessions) as session:
        rows = (
            await session.exec(
                select(event_invoke.DestinationDelivery).where(
                    col(event_invoke.DestinationDelivery.destination) == destination
                )
            )
        ).all()
    found: list[str] = []
    for row in rows:
        for record in json.loads(row.record)["requestPayload"]["Records"]:
            found.append(ID_OF[key](record))
    return found


ROOT = Path(__file__).resolve().parents[3]


def spawn(
    settings: Settings, module: str = "tests.integration.event_sources.source_worker_process"
) -> subprocess.Popen[str]:
    """A worker process (``module``: ``source_worker_process`` by default), leading the test database's
    mappings; its argv is the database URL and the data dir."""
    url = settings.database.url.get_secret_value()
    return subprocess.Popen(
        [sys.executable, "-m", module, url, str(settings.data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> None:
    """Wait until ``check()`` holds (polled every 0.2 s); AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("timed out")


def sources(
    service: FunctionService, seen: list[str] | None, *, metrics: CollectorRegistry | None = None,
    backoff: float = 0.2, **tunables: float,
) -> EventSources:  # fmt: skip
    """The event sources of ``service``'s database with ``tunables`` (``scan_seconds``,
    ``lease_seconds``) set, noting in ``seen`` what each invocation processed (nothing when None);
    counted on ``metrics`` (a fresh registry when None)."""
    events = service.settings.event_sources.model_copy(update=tunables)
    invoke = source_invoker(service)
    return EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions,
        invoke if seen is None else recording(invoke, seen), metrics_registry=metrics or CollectorRegistry(),
        backoff=backoff,
    )  # fmt: skip


async def killed_midway(settings: Settings, processed: int = 30) -> list[str]:
    """Run ``source_worker_process`` until it reported ``processed`` records, SIGKILL it, and return
    every id it reported as processed (those it printed while dying too)."""
    child = spawn(settings)
    assert child.stdout is not None
    first: list[str] = []
    try:
        while len(first) < processed:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, "the worker ended"
            if line.startswith("ok "):
                first.append(line.split()[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    rest = child.stdout.read().split()
    child.stdout.close()
    return first + [w for w, prev in zip(rest[1:], rest, strict=False) if prev == "ok"]
