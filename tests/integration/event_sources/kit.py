"""Helpers of the event source tests: mappings made through the service, a recording invoker (the ids
of the records each successful invocation processed), and the destination outbox counted."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from api import event_source_mapping_schemas as schemas
from api.services import event_source_mappings as use_cases
from foundation.registry import event_invoke
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from workers.events.sources.core import Invoke

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


def spawn(settings: Settings) -> subprocess.Popen[str]:
    """The worker of ``source_worker_process``, leading the test database's mappings."""
    module = "tests.integration.event_sources.source_worker_process"
    url = settings.database.url.get_secret_value()
    return subprocess.Popen(
        [sys.executable, "-m", module, url, str(settings.data_dir)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
