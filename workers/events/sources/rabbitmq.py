"""RabbitMQ queues as an event source (aio-pika): the SQS-like source.

The poller consumes the mapping's queue with a prefetch of ``BatchSize x ParallelizationFactor``,
gathers batches (up to ``BatchSize``, waiting up to ``MaximumBatchingWindowInSeconds`` for more once
one message is in) and runs ``ParallelizationFactor`` batches at once. A message is acked only after
its outcome is recorded (succeeded, or written to the on-failure destination); one that failed for good
without a destination is nacked without requeue, so RabbitMQ dead-letters it (the queue's
``x-dead-letter-exchange``). Unacked messages go back to the queue when the poller's connection ends
(a crash, a kill -9, a lost lease): at-least-once.

The event is shaped like SQS's::

    {"Records": [{"messageId": "<message_id or a digest>", "receiptHandle": "<delivery tag>",
                  "body": "<UTF-8 text>", "attributes": {"ApproximateReceiveCount": "1" | "2",
                  "SentTimestamp": "<ms>", "ApproximateFirstReceiveTimestamp": "<ms>",
                  "BodyEncoding": "base64"  (only when the body is not UTF-8)},
                  "messageAttributes": {"<header>": {"stringValue": "...", "dataType": "String"}},
                  "md5OfBody": "...", "eventSource": "stepline:rabbitmq",
                  "eventSourceARN": "<the mapping's>", "awsRegion": "<region>"}]}
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from workers.events.sources.core import Batcher, Record


def to_record(message: AbstractIncomingMessage, source_arn: str, region: str, received: float) -> Record:
    """The SQS-shaped record of ``message``."""
    sent = message.timestamp.timestamp() if message.timestamp is not None else received
    attributes = {
        "ApproximateReceiveCount": "2" if message.redelivered else "1",
        "SentTimestamp": str(int(sent * 1000)),
        "ApproximateFirstReceiveTimestamp": str(int(received * 1000)),
    }
    try:
        body = message.body.decode()
    except UnicodeDecodeError:
        body = base64.b64encode(message.body).decode()
        attributes["BodyEncoding"] = "base64"
    message_id = (
        message.message_id or hashlib.sha256(message.body).hexdigest()[:32] + f"-{message.delivery_tag}"
    )
    event: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": str(message.delivery_tag),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {
            str(k): {"stringValue": _text(v), "dataType": "String"}
            for k, v in (message.headers or {}).items()
        },
        "md5OfBody": hashlib.md5(message.body, usedforsecurity=False).hexdigest(),
        "eventSource": "stepline:rabbitmq",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }
    return Record(id=message_id, event=event, arrived=sent, handle=message)


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


async def poll(batcher: Batcher, url: str, region: str) -> None:
    """Consume the mapping's queue until cancelled (a missing queue or a lost connection raises)."""
    mapping = batcher.mapping
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=mapping.batch_size * mapping.parallelization_factor)
        queue = await channel.get_queue(mapping.source_name, ensure=True)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await queue.consume(inbox.put)
        async with asyncio.TaskGroup() as group:
            for _ in range(mapping.parallelization_factor):
                group.create_task(_batches(batcher, inbox, region))
            group.create_task(_watch(connection))
    finally:
        await connection.close()


async def _watch(connection: aio_pika.abc.AbstractConnection) -> None:
    """Raise when the broker closes the connection (the runner starts the poller again)."""
    closed = asyncio.Event()
    connection.close_callbacks.add(lambda *_: closed.set())
    await closed.wait()
    raise ConnectionError("the RabbitMQ connection closed")


async def _batches(batcher: Batcher, inbox: asyncio.Queue[AbstractIncomingMessage], region: str) -> None:
    mapping = batcher.mapping
    while True:
        messages = [await inbox.get()]
        deadline = time.monotonic() + mapping.batching_window_seconds
        while len(messages) < mapping.batch_size:
            if not inbox.empty():
                messages.append(inbox.get_nowait())
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                messages.append(await asyncio.wait_for(inbox.get(), left))
            except TimeoutError:
                break
        now = time.time()
        outcome = await batcher.process([to_record(m, mapping.source_arn, region, now) for m in messages])
        for record in outcome.succeeded + outcome.routed:
            await record.handle.ack()
        for record in outcome.failed:
            await record.handle.nack(requeue=False)
