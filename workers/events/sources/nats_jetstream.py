"""NATS JetStream streams as an event source (nats-py, durable pull consumers): a Kinesis-like source.

Each mapping reads its stream through its own durable consumer, ``stepline-<mapping uuid>``, created at
the ``StartingPosition`` (TRIM_HORIZON: every message kept; LATEST: new ones; AT_TIMESTAMP: from that
time), explicit acks, ``ack_wait`` three leases long. A message is acked once its outcome is recorded;
while a batch runs the poller tells the server it is in progress every lease, so a long invocation is
not redelivered, while a killed leader's unacknowledged messages are redelivered to the next leader once
``ack_wait`` passed (at-least-once). One that failed for good without a destination is terminated (not
redelivered: dropped as Lambda drops a stream's record; logged and counted).

Ordering: the partition key is the message's subject; a batch is split into ``ParallelizationFactor``
shards by a hash of it, each run in order.

The event is shaped like Kinesis's::

    {"Records": [{"eventSource": "stepline:nats", "eventID": "<stream>:<stream sequence>",
                  "eventName": "stepline:nats:record", "eventVersion": "1.0",
                  "eventSourceARN": "<the mapping's>", "awsRegion": "<region>",
                  "nats": {"partitionKey": "<subject>", "subject": "<subject>",
                           "sequenceNumber": "<stream sequence>",
                           "approximateArrivalTimestamp": <seconds>, "data": "<base64>",
                           "headers": {"<name>": "<value>"}}}]}
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import zlib
from datetime import UTC
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from workers.events.sources.core import Batcher, Outcome, Record


def consumer_name(uuid: str) -> str:
    return f"stepline-{uuid}"


def to_record(stream: str, message: Msg, source_arn: str, region: str) -> Record:
    meta = message.metadata
    sequence = str(meta.sequence.stream)
    arrived = meta.timestamp.timestamp()
    event: dict[str, Any] = {
        "eventSource": "stepline:nats",
        "eventID": f"{stream}:{sequence}",
        "eventName": "stepline:nats:record",
        "eventVersion": "1.0",
        "eventSourceARN": source_arn,
        "awsRegion": region,
        "nats": {
            "partitionKey": message.subject,
            "subject": message.subject,
            "sequenceNumber": sequence,
            "approximateArrivalTimestamp": arrived,
            "data": base64.b64encode(message.data).decode(),
            "headers": dict(message.headers or {}),
        },
    }
    return Record(id=sequence, event=event, arrived=arrived, key=message.subject, handle=message)


def _config(batcher: Batcher, lease_seconds: float) -> ConsumerConfig:
    mapping = batcher.mapping
    policy, start = DeliverPolicy.ALL, None
    if mapping.starting_position == "LATEST":
        policy = DeliverPolicy.NEW
    elif mapping.starting_position == "AT_TIMESTAMP" and mapping.starting_timestamp is not None:
        policy = DeliverPolicy.BY_START_TIME
        start = mapping.starting_timestamp.astimezone(UTC)
    return ConsumerConfig(
        durable_name=consumer_name(mapping.uuid), deliver_policy=policy, opt_start_time=start,
        ack_policy=AckPolicy.EXPLICIT, ack_wait=lease_seconds * 3,
        max_ack_pending=mapping.batch_size * mapping.parallelization_factor * 2,
    )  # fmt: skip


async def poll(batcher: Batcher, url: str, region: str, lease_seconds: float) -> None:
    """Read the mapping's stream until cancelled (a missing stream or a lost connection raises)."""
    mapping = batcher.mapping
    client = await nats.connect(url, allow_reconnect=False)
    try:
        stream = client.jetstream()
        await stream.stream_info(mapping.source_name)
        subscription = await stream.pull_subscribe(
            "", durable=consumer_name(mapping.uuid), stream=mapping.source_name,
            config=_config(batcher, lease_seconds),
        )  # fmt: skip
        while True:
            messages = await _fetch(subscription, mapping.batch_size, mapping.batching_window_seconds)
            if messages:
                await _process(batcher, messages, region, lease_seconds)
    finally:
        await client.close()


async def _fetch(subscription: Any, size: int, window: int) -> list[Msg]:
    messages: list[Msg] = []
    deadline = time.monotonic() + window
    while len(messages) < size:
        left = deadline - time.monotonic()
        wait = 1.0 if not messages else left
        if messages and wait <= 0:
            break
        try:
            messages += await subscription.fetch(size - len(messages), timeout=max(wait, 0.05))
        except NatsTimeout:
            if messages:
                break
            continue
        if window == 0:
            break
    return messages


async def _process(batcher: Batcher, messages: list[Msg], region: str, lease_seconds: float) -> None:
    mapping = batcher.mapping
    records = [to_record(mapping.source_name, m, mapping.source_arn, region) for m in messages]
    shards: dict[int, list[Record]] = {}
    for record in records:
        shards.setdefault(zlib.crc32(record.key.encode()) % mapping.parallelization_factor, []).append(record)
    beat = asyncio.create_task(_in_progress(messages, lease_seconds))
    try:
        outcomes: list[Outcome] = await asyncio.gather(*(batcher.process(s) for s in shards.values()))
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
    for outcome in outcomes:
        for record in outcome.succeeded + outcome.routed:
            await record.handle.ack()
        for record in outcome.failed:
            await record.handle.term()


async def _in_progress(messages: list[Msg], every: float) -> None:
    """Keep the batch's messages from being redelivered while it runs."""
    while True:
        await asyncio.sleep(every)
        for message in messages:
            await message.in_progress()
