"""PostgreSQL table changes as an event source: the DynamoDB-Streams-like source.

A mapping reads one table of the database behind a db proxy (its target URL and role: the user's
credentials, never an address the mapping gives) through a trigger-fed outbox that the mapping's
creation installed there (``postgres_outbox``: why not logical decoding, and how order is kept). The
poller holds a session advisory lock on the outbox while it reads (a second poller of the same mapping
waits; a killed one's lock goes with its connection), reads the oldest committed changes in id order,
hands them to the core in ``ParallelizationFactor`` shards by primary key (each shard in order) and
deletes them once their outcome is recorded: a crash redelivers (at-least-once). One that failed for
good without a destination is deleted too (dropped, as Lambda drops a stream's record; logged and
counted).

The event is shaped like DynamoDB Streams', values as DynamoDB's typed attribute values (``S``, ``N``
as a decimal string, ``BOOL``, ``NULL``, ``M``, ``L``; PostgreSQL's JSON rendering of each column:
timestamps, UUIDs and ``bytea`` are ``S``), so a DynamoDB handler and ``TypeDeserializer`` work::

    {"Records": [{"eventID": "<schema>.<table>:<sequence>", "eventName": "INSERT" | "MODIFY" | "REMOVE",
                  "eventVersion": "1.1", "eventSource": "stepline:postgres", "awsRegion": "<region>",
                  "eventSourceARN": "<the mapping's>",
                  "dynamodb": {"ApproximateCreationDateTime": <seconds>, "Keys": {...},
                               "NewImage": {...}, "OldImage": {...}, "SequenceNumber": "<20 digits>",
                               "SizeBytes": <n>, "StreamViewType": "NEW_AND_OLD_IMAGES"}}]}

``batchItemFailures`` item identifiers are sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.pg_connections import close_or_terminate
from foundation.registry import resources
from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer
from foundation.settings import Settings
from workers.events.sources import postgres_outbox as outbox
from workers.events.sources.core import Batcher, Outcome, Record

IDLE_POLL_SECONDS = 1.0
_DECODER = json.JSONDecoder(parse_float=Decimal)
STATEMENT_SECONDS = 60.0
"""A read or an acknowledgement taking longer fails the poller (restarted): a peer gone silent."""
LOCK_WAIT_SECONDS = 3600.0


def split_name(source_name: str) -> tuple[str, str, str, str]:
    """(proxy, schema, table, view type) of a mapping's ``source_name`` (``PROXY/SCHEMA.TABLE/VIEW``)."""
    proxy, relation, view = source_name.split("/")
    schema, table = relation.split(".")
    return proxy, schema, table, view


def typed(value: Any) -> dict[str, Any]:
    """A JSON value (numbers read as int or Decimal) as a DynamoDB typed attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [typed(v) for v in value]}
    return {"M": {str(k): typed(v) for k, v in value.items()}}


def _image(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    document = _DECODER.decode(text)
    return {str(k): typed(v) for k, v in document.items()}


def to_record(row: asyncpg.Record, names: outbox.Names, view: str, source_arn: str, region: str) -> Record:
    sequence = f"{row['id']:020d}"
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": round(row["at"], 3),
        "Keys": _image(row["keys"]),
    }
    new, old = _image(row["new"]), _image(row["old"])
    if new is not None:
        data["NewImage"] = new
    if old is not None:
        data["OldImage"] = old
    data["SequenceNumber"] = sequence
    data["SizeBytes"] = sum(len(row[c] or "") for c in ("keys", "new", "old"))
    data["StreamViewType"] = view
    event: dict[str, Any] = {
        "eventID": f"{names.shown}:{sequence}",
        "eventName": row["op"],
        "eventVersion": "1.1",
        "eventSource": "stepline:postgres",
        "awsRegion": region,
        "dynamodb": data,
        "eventSourceARN": source_arn,
    }
    return Record(id=sequence, event=event, arrived=row["at"], key=row["keys"], handle=row["id"])


async def target_url(session: AsyncSession, settings: Settings, proxy: str) -> str:
    """The target URL of db proxy ``proxy`` (unsealed; ResourceNotFound when there is none)."""
    row = await resources.get_db_proxy(session, proxy)
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Sealer.from_settings(secret, settings.data_dir).open(row.target_sealed)


async def poll(batcher: Batcher, sessions: SessionMaker, settings: Settings) -> None:
    """Read the mapping's outbox until cancelled (a lost connection or a missing outbox raises)."""
    mapping = batcher.mapping
    proxy, schema, table, view = split_name(mapping.source_name)
    names = outbox.Names.of(mapping.uuid, schema, table)
    async with sessions() as session:
        url = await target_url(session, settings, proxy)
    connection = await outbox.connect(url, command_timeout=STATEMENT_SECONDS)
    try:
        # one reader: a poller whose lease moved away (still running) holds it until it stops
        await connection.execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))", names.outbox, timeout=LOCK_WAIT_SECONDS
        )
        woken = asyncio.Event()
        await connection.add_listener(names.channel, lambda *_: woken.set())

        def records(rows: list[asyncpg.Record]) -> list[Record]:
            return [to_record(r, names, view, mapping.source_arn, settings.region) for r in rows]

        batch, done = records(await _batch(connection, names, batcher, woken)), list[int]()
        try:
            while True:  # while a batch runs: the last one's acknowledgement, the next one's read
                ahead = asyncio.create_task(
                    _acknowledge_and_read(connection, names, done, mapping.batch_size, batch, records)
                )
                try:
                    done = await _process(batcher, batch)
                    following = await ahead
                finally:  # stopping mid-batch: its rows stay, read again (at-least-once)
                    ahead.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await ahead
                if len(following) < mapping.batch_size:  # caught up: wait (and batch) as usual
                    await outbox.acknowledge(connection, names, done)
                    done = []
                    following = records(await _batch(connection, names, batcher, woken))
                batch = following
        finally:  # stopping: what is done is not read again (a crash here: read again, at-least-once)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(outbox.acknowledge(connection, names, done), 5)
    finally:
        await close_or_terminate(connection, 5)  # (terminated if cancelled again: never left open)


async def _acknowledge_and_read(
    connection: asyncpg.Connection, names: outbox.Names, done: list[int], limit: int, running: list[Record],
    records: Callable[[list[asyncpg.Record]], list[Record]],
) -> list[Record]:  # fmt: skip
    """Delete the changes ``done`` (the last batch), then read the next ``limit`` besides ``running``,
    made records while the batch's function runs."""
    await outbox.acknowledge(connection, names, done)
    return records(await outbox.read(connection, names, limit, [r.handle for r in running]))


async def _process(batcher: Batcher, batch: list[Record]) -> list[int]:
    """Run one batch in ``ParallelizationFactor`` shards by key; the ids of the rows it is done with."""
    factor = batcher.mapping.parallelization_factor
    shards: dict[int, list[Record]] = {}
    for record in batch:
        shards.setdefault(zlib.crc32(record.key.encode()) % factor, []).append(record)
    outcomes: list[Outcome] = await asyncio.gather(*(batcher.process(s) for s in shards.values()))
    return [r.handle for o in outcomes for r in o.succeeded + o.routed + o.failed]


async def _batch(
    connection: asyncpg.Connection, names: outbox.Names, batcher: Batcher, woken: asyncio.Event
) -> list[asyncpg.Record]:
    """The next batch: as soon as one change is there, up to ``BatchSize`` within the batching window."""
    mapping = batcher.mapping
    while True:
        woken.clear()
        rows = await outbox.read(connection, names, mapping.batch_size)
        if rows:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), IDLE_POLL_SECONDS)
    deadline = time.monotonic() + mapping.batching_window_seconds
    while len(rows) < mapping.batch_size:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), left)
        woken.clear()
        rows = await outbox.read(connection, names, mapping.batch_size)
    return rows
