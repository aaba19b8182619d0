"""Event source mappings' speed: messages per second from RabbitMQ and from Redis Streams into a no-op
Python function (batch size 100), against a plain aio-pika / redis-py consumer doing the same work in
one process (build each batch's ``{"Records": [...]}`` JSON, acknowledge), in one run; and the latency
of one message on an idle mapping (publish to the end of its invocation), p50.

    python bench/events.py [--messages N] [--samples N] [--json FILE]

Goals: mapping rate >= 0.5x the plain consumer's; one message's latency p50 < 20 ms. Uses the brokers on
this machine (a queue and a stream of its own, deleted after), a scratch PostgreSQL database and real
bubblewrap sandboxes (``FunctionService``, the worker's invoke path).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from _common import json_main
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis.asyncio import Redis

from api import event_source_mapping_schemas as schemas
from api.services import event_source_mappings as use_cases
from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from workers.events.sources.core import Invoke
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.codestore import zip_files
from workers.functions.service import FunctionService

ADMIN_URL = os.environ.get("STEPLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
REDIS = "redis://127.0.0.1:6379/0"
BATCH = 100
BODY = json.dumps({"order": 1, "item": "x" * 100})


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    from foundation.db import upgrade

    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def noop_service() -> AsyncIterator[tuple[Settings, FunctionService]]:
    """A function service on a scratch database and data dir, with ``noop`` (a warm no-op Python
    function) created; its settings scan event sources every 0.2 s."""
    data_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-"))
    os.chmod(data_dir, 0o711)  # sandbox users reach it
    try:
        async with scratch_database() as url:
            settings = Settings(
                database_url=SecretStr(url), data_dir=data_dir, event_sources={"scan_seconds": 0.2}
            )
            async with FunctionService(settings, run_events=False) as service:
                stored = service.code.put(
                    zip_files({"app.py": "def handler(event, context):\n    return {}\n"})
                )
                async with unit_of_work(service.sessions) as session:
                    await registry.create_function(session, "noop", registry.FunctionSettings(
                        runtime="python3.11", handler="app.handler", code_sha256=stored.sha256,
                        code_size=stored.size))  # fmt: skip
                await service.invoke("noop", b"{}")  # warm
                yield settings, service
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


class Counter:
    """Wraps the mapping's invoker: when its first batch started, when the last ended, how many."""

    def __init__(self, invoke: Invoke) -> None:
        self._invoke = invoke
        self.first = 0.0
        self.last = 0.0
        self.records = 0
        self.changed = asyncio.Event()

    async def __call__(self, name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        start = time.perf_counter()
        self.first = self.first or start
        result = await self._invoke(name, payload, qualifier)
        self.last = time.perf_counter()
        self.records += payload.count(b'"eventSource"')
        self.changed.set()
        return result

    async def reach(self, records: int, seconds: float = 300.0) -> None:
        deadline = time.monotonic() + seconds
        while self.records < records:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(deadline - time.monotonic(), 0.01))


def rate(count: int, first: float, last: float) -> float:
    return round(count / max(last - first, 1e-9), 1)


# brokers ---------------------------------------------------------------------------------------


async def publish(queue: str, count: int) -> None:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue)
        for i in range(count):
            await channel.default_exchange.publish(aio_pika.Message(BODY.encode(), message_id=str(i)), queue)


async def plain_rabbitmq(queue: str, count: int) -> float:
    """aio-pika: prefetch 100, batches of 100, each built as the event would be, then acked."""
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=BATCH)
        inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        declared = await channel.get_queue(queue)
        await declared.consume(inbox.put)
        done, first = 0, 0.0
        while done < count:
            batch = [await inbox.get()]
            first = first or time.perf_counter()
            while len(batch) < BATCH and not inbox.empty():
                batch.append(inbox.get_nowait())
            json.dumps({"Records": [{"messageId": m.message_id, "body": m.body.decode()} for m in batch]})
            for message in batch:
                await message.ack()
            done += len(batch)
        return rate(count, first, time.perf_counter())


async def plain_redis(stream: str, count: int) -> float:
    """redis-py: XREADGROUP 100 at a time, each batch built as the event would be, then XACKed."""
    client = Redis.from_url(REDIS)
    await client.xgroup_create(stream, "plain", id="0")
    done, first = 0, 0.0
    while done < count:
        found = await client.xreadgroup("plain", "c", {stream: ">"}, count=BATCH, block=1000)
        if not found:
            continue
        first = first or time.perf_counter()
        entries = found[0][1]
        json.dumps(
            {"Records": [{"sequenceNumber": i.decode(), "data": f[b"data"].decode()} for i, f in entries]}
        )
        await client.xack(stream, "plain", *[i for i, _ in entries])
        done += len(entries)
    elapsed = rate(count, first, time.perf_counter())
    await client.aclose()
    return elapsed


async def fill_stream(stream: str, count: int) -> None:
    client = Redis.from_url(REDIS)
    async with client.pipeline(transaction=False) as pipe:
        for i in range(count):
            pipe.xadd(stream, {"data": BODY, "key": str(i % 16)})
        await pipe.execute()
    await client.aclose()


# mappings --------------------------------------------------------------------------------------


async def mapping(service: FunctionService, function: str, **fields: Any) -> str:
    async with unit_of_work(service.sessions) as session:
        body = schemas.MappingIn.model_validate({"functionName": function, "batchSize": BATCH, **fields})
        made = await use_cases.create_mapping(session, body, service.settings.region)
    return made.uuid


async def drop(service: FunctionService, uuid_: str) -> None:
    async with unit_of_work(service.sessions) as session:
        await use_cases.delete_mapping(session, uuid_, service.settings.region)


async def latency(counter: Counter, send: Any, samples: int) -> dict[str, float]:
    """Publish one message at a time on the idle mapping; publish to the end of its invocation."""
    found = []
    for _ in range(samples):
        before = counter.records
        start = time.perf_counter()
        await send()
        await counter.reach(before + 1, 30)
        found.append((counter.last - start) * 1000)
        await asyncio.sleep(0.05)
    ordered = sorted(found)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)], 2),
    }


async def run(messages: int, samples: int) -> dict[str, Any]:
    results: dict[str, Any] = {"messages": messages, "batch_size": BATCH}
    suffix = uuid.uuid4().hex[:10]
    queue, plain_queue, stream, plain_stream = (f"bench-{k}-{suffix}" for k in ("q", "pq", "s", "ps"))
    redis = Redis.from_url(REDIS)
    try:
        async with noop_service() as (settings, service):
            counter = Counter(source_invoker(service))
            async with EventSources(
                settings, service.sessions, counter, metrics_registry=CollectorRegistry()
            ):
                # RabbitMQ: the plain consumer, then the mapping, on the same number of messages
                await publish(plain_queue, messages)
                results["rabbitmq_plain_per_s"] = await plain_rabbitmq(plain_queue, messages)
                await publish(queue, messages)
                rabbit = await mapping(
                    service, "noop", eventSourceArn="arn:aws:mq:us-east-1:123456789012:broker:rabbitmq",
                    queues=[queue],
                )  # fmt: skip
                await counter.reach(messages)
                results["rabbitmq_mapping_per_s"] = rate(messages, counter.first, counter.last)

                async def send_one() -> None:
                    await publish(queue, 1)

                results["rabbitmq_idle_latency"] = await latency(counter, send_one, samples)
                await drop(service, rabbit)
                await asyncio.sleep(0.5)
                # Redis Streams
                await fill_stream(plain_stream, messages)
                results["redis_plain_per_s"] = await plain_redis(plain_stream, messages)
                await fill_stream(stream, messages)
                counter.first, counter.records = 0.0, 0
                arn = f"arn:aws:redis:us-east-1:123456789012:stream/{stream}"
                await mapping(service, "noop", eventSourceArn=arn, startingPosition="TRIM_HORIZON")
                await counter.reach(messages)
                results["redis_mapping_per_s"] = rate(messages, counter.first, counter.last)

                async def add_one() -> None:
                    await redis.xadd(stream, {"data": BODY})

                results["redis_idle_latency"] = await latency(counter, add_one, samples)
    finally:
        await redis.delete(stream, plain_stream)
        await redis.aclose()
        connection = await aio_pika.connect(AMQP)
        async with connection:
            channel = await connection.channel()
            for name in (queue, plain_queue):
                await channel.queue_delete(name)
    for broker in ("rabbitmq", "redis"):
        results[f"{broker}_ratio"] = round(
            results[f"{broker}_mapping_per_s"] / results[f"{broker}_plain_per_s"], 3
        )
    return results


def main() -> None:
    json_main(__doc__, "messages", 5000, run)


if __name__ == "__main__":
    main()
