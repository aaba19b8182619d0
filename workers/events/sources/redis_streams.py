"""Redis Streams as an event source (redis-py asyncio, consumer groups): the Kinesis-like source.

Each mapping reads its stream in its own consumer group, ``stepline-<mapping uuid>``, created at the
``StartingPosition`` (TRIM_HORIZON: the first entry; LATEST: entries added from then on; AT_TIMESTAMP:
entries from that millisecond on). The consumer is the leading worker. When a worker takes the lead it
first claims every entry still pending in the group (XAUTOCLAIM: a crashed or killed leader's
unacknowledged entries) and processes them before reading new ones, so nothing read is lost; an entry
is XACKed only after its outcome is recorded (at-least-once).

Ordering: an entry's partition key is its ``key`` field (empty when none). A batch is split into
``ParallelizationFactor`` shards by a hash of the key and the shards run at once, each in order, so
entries of one key are processed in the stream's order; the next batch waits for all shards.

The event is shaped like Kinesis's::

    {"Records": [{"eventSource": "stepline:redis", "eventID": "<stream>:<entry id>",
                  "eventName": "stepline:redis:record", "eventVersion": "1.0",
                  "eventSourceARN": "<the mapping's>", "awsRegion": "<region>",
                  "redis": {"partitionKey": "<key field>", "sequenceNumber": "<entry id>",
                            "approximateArrivalTimestamp": <seconds, from the entry id>,
                            "data": "<base64 of the data field, or null>",
                            "fields": {"<name>": "<value as UTF-8 text>"}}}]}

``batchItemFailures`` item identifiers are sequence numbers (entry ids).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
import zlib
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from workers.events.sources.core import Batcher, Outcome, Record

_MAX_SEQUENCE = 18446744073709551615


def group_name(uuid: str) -> str:
    return f"stepline-{uuid}"


def _start_id(position: str | None, timestamp_ms: int | None) -> str:
    if position == "LATEST":
        return "$"
    if position == "AT_TIMESTAMP" and timestamp_ms is not None:
        return f"{timestamp_ms - 1}-{_MAX_SEQUENCE}" if timestamp_ms > 0 else "0"
    return "0"


def to_record(
    stream: str, entry_id: bytes, fields: dict[bytes, bytes], source_arn: str, region: str
) -> Record:
    sequence = entry_id.decode()
    arrived = int(sequence.split("-", 1)[0]) / 1000
    key = fields.get(b"key", b"").decode(errors="replace")
    data = fields.get(b"data")
    event: dict[str, Any] = {
        "eventSource": "stepline:redis",
        "eventID": f"{stream}:{sequence}",
        "eventName": "stepline:redis:record",
        "eventVersion": "1.0",
        "eventSourceARN": source_arn,
        "awsRegion": region,
        "redis": {
            "partitionKey": key,
            "sequenceNumber": sequence,
            "approximateArrivalTimestamp": arrived,
            "data": base64.b64encode(data).decode() if data is not None else None,
            "fields": {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()},
        },
    }
    return Record(id=sequence, event=event, arrived=arrived, key=key, handle=entry_id)


async def poll(batcher: Batcher, url: str, region: str, consumer: str) -> None:
    """Read the mapping's stream until cancelled (a lost connection raises: the runner starts again)."""
    mapping = batcher.mapping
    group = group_name(mapping.uuid)
    client = Redis.from_url(url)
    try:
        timestamp = mapping.starting_timestamp
        start = _start_id(mapping.starting_position, int(timestamp.timestamp() * 1000) if timestamp else None)
        try:
            await client.xgroup_create(mapping.source_name, group, id=start, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        cursor = "0-0"
        while True:  # a crashed leader's entries first
            cursor_raw, claimed, *_ = await client.xautoclaim(
                mapping.source_name,
                group,
                consumer,
                min_idle_time=0,
                start_id=cursor,
                count=mapping.batch_size,
            )
            entries = [(i, f) for i, f in claimed if f]
            await _process(batcher, client, group, entries, region)
            cursor = cursor_raw.decode() if isinstance(cursor_raw, bytes) else str(cursor_raw)
            if cursor == "0-0":
                break
        reading = asyncio.create_task(_read(client, mapping.source_name, group, consumer, batcher))
        try:
            while True:  # the next batch is read while this one is processed (in order: one at a time)
                entries = await reading
                reading = asyncio.create_task(_read(client, mapping.source_name, group, consumer, batcher))
                await _process(batcher, client, group, entries, region)
        finally:  # what it read stays pending: claimed again when a poller starts
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reading
    finally:
        await client.aclose()


async def _read(
    client: Redis, stream: str, group: str, consumer: str, batcher: Batcher
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    mapping = batcher.mapping
    entries: list[tuple[bytes, dict[bytes, bytes]]] = []
    deadline = time.monotonic() + mapping.batching_window_seconds
    while len(entries) < mapping.batch_size:
        left = deadline - time.monotonic()
        block = 1000 if not entries else max(int(left * 1000), 0)
        if entries and block == 0:
            break
        found = await client.xreadgroup(
            group, consumer, {stream: ">"}, count=mapping.batch_size - len(entries), block=block or None
        )
        if not found:
            if entries:
                break
            continue
        entries.extend(found[0][1])
        if mapping.batching_window_seconds == 0:
            break
    return entries


async def _process(
    batcher: Batcher, client: Redis, group: str, entries: list[tuple[bytes, dict[bytes, bytes]]], region: str
) -> None:
    if not entries:
        return
    mapping = batcher.mapping
    records = [to_record(mapping.source_name, i, f, mapping.source_arn, region) for i, f in entries]
    shards: dict[int, list[Record]] = {}
    for record in records:
        shard = zlib.crc32(record.key.encode()) % mapping.parallelization_factor
        shards.setdefault(shard, []).append(record)
    outcomes: list[Outcome] = await asyncio.gather(*(batcher.process(s) for s in shards.values()))
    done = [r.handle for o in outcomes for r in o.succeeded + o.routed + o.failed]
    if done:  # failed with no destination: dropped, as Lambda drops them (logged and counted)
        await client.xack(mapping.source_name, group, *done)
