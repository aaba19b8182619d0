"""Stepline file systems as an event source: objects created or removed under a path, the S3
notification-like source.

Functions write into file systems from their sandboxes (bind mounts), so no Stepline API call sees a
change. The poller **scans** (``fs_scan``: by descriptor, links never followed, contents never read)
and compares the scan with a **snapshot stored in PostgreSQL** (``event_source_object``: key, size,
mtime, inode of every object last reported); inotify (``inotify``) only wakes it early, and it scans
anyway every ``fs_rescan_seconds``. A record's snapshot row is written only once its outcome is
recorded, so a worker killed at any point (or down for a day) finds the difference again on its next
scan: at-least-once, nothing lost across restarts, and a change is reported once it is seen, whatever
inotify missed. Before a created object is handed over, a *pending* row (``!`` + key: ``!`` is never
in an encoded key) says so; a successor that finds one treats the object as reported in an unknown
state, so it reports the object again if it is there, and its removal if it is gone (the function may
have seen it created). What a scan cannot see is not reported: an object created and removed between two
scans, or several writes to one object (one ``ObjectCreated:Put`` for the state found).

The baseline (the first scan, when no snapshot exists) follows ``StartingPosition``: LATEST (default)
reports nothing that is there already; TRIM_HORIZON reports every object; AT_TIMESTAMP the objects
modified at or after that time.

Ordering: records are sharded by key across ``ParallelizationFactor``; one key's records (a create,
then its removal) are processed in order. The event is shaped like S3's::

    {"Records": [{"eventVersion": "2.1", "eventSource": "stepline:fs", "awsRegion": "<region>",
                  "eventTime": "<ISO 8601>", "eventName": "ObjectCreated:Put" | "ObjectRemoved:Delete",
                  "eventSourceARN": "<the mapping's>", "userIdentity": {"principalId": "stepline"},
                  "s3": {"s3SchemaVersion": "1.0", "configurationId": "<mapping UUID>",
                         "bucket": {"name": "<file system>", "arn": "arn:aws:s3:::<file system>",
                                    "ownerIdentity": {"principalId": "stepline"}},
                         "object": {"key": "<path, percent-encoded>", "size": <bytes>,
                                    "eTag": "<digest of inode, size, mtime>",
                                    "sequencer": "<16 hex digits, increasing>"}}}]}

``batchItemFailures`` item identifiers are sequencers.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from foundation.registry import event_source_mappings as mappings
from foundation.registry import event_source_objects as objects
from foundation.registry import resources
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import s3_bucket_arn
from workers.events.sources.core import Batcher, Outcome, Record
from workers.events.sources.fs_scan import Change, KeyFilter, ObjectState, Scan, differences, scan
from workers.events.sources.inotify import Watcher
from workers.filesystems import file_system_path, open_file_system

PENDING = "!"
"""Prefix of the snapshot rows of objects being handed over (``quote_plus`` encodes ``!``)."""
UNKNOWN = ObjectState(-1, -1, -1)
"""The state of a pending object: never equal to one a scan finds."""


def parse_source_name(source_name: str) -> tuple[str, KeyFilter]:
    """(file system, filter rules) of ``NAME[/PREFIX[*SUFFIX]]``."""
    name, _, rules = source_name.partition("/")
    prefix, _, suffix = rules.partition("*")
    return name, KeyFilter(prefix.encode(), suffix.encode())


class _Sequencer:
    """Strictly increasing sequencers (nanoseconds since the epoch, 16 hex digits)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        self._last = max(self._last + 1, time.time_ns())
        return f"{self._last:016X}"


def to_record(
    change: Change, sequencer: str, file_system: str, source_arn: str, uuid: str, region: str
) -> Record:
    now = time.time()
    obj: dict[str, Any] = {"key": change.key}
    if change.state is not None:
        version = f"{change.state.inode}:{change.state.size}:{change.state.mtime_ns}".encode()
        obj["size"] = change.state.size
        obj["eTag"] = hashlib.sha256(version).hexdigest()[:32]
    obj["sequencer"] = sequencer
    event: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "stepline:fs",
        "awsRegion": region,
        "eventTime": _iso(now),
        "eventName": "ObjectCreated:Put" if change.state is not None else "ObjectRemoved:Delete",
        "eventSourceARN": source_arn,
        "userIdentity": {"principalId": "stepline"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": uuid,
            "bucket": {
                "name": file_system,
                "ownerIdentity": {"principalId": "stepline"},
                "arn": s3_bucket_arn(file_system),
            },
            "object": obj,
        },
    }
    return Record(id=sequencer, event=event, arrived=now, key=change.key, handle=change)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def poll(batcher: Batcher, sessions: SessionMaker, settings: Settings) -> None:
    """Watch the mapping's file system until cancelled (a missing file system raises)."""
    mapping = batcher.mapping
    config = settings.event_sources
    name, rules = parse_source_name(mapping.source_name)
    async with unit_of_work(sessions) as session:
        found = await resources.get_file_system(session, name)
        stored = await objects.load(session, mapping.uuid)
    path = file_system_path(settings.data_dir, name, found.host_path)
    root = open_file_system(path)  # made (sticky, as functions see it) when no function made it yet
    watcher = Watcher(config.fs_max_watches)
    try:
        current = await _scan(root, rules, config.fs_max_objects, watcher)
        if stored is not None:
            snapshot = {k: ObjectState(*v) for k, v in stored.items() if not k.startswith(PENDING)}
            for key in (k for k in stored if k.startswith(PENDING)):  # handed over, outcome unknown
                snapshot.setdefault(key[1:], UNKNOWN)
        else:
            snapshot = baseline(mapping.starting_position, mapping.starting_timestamp, current)
            async with unit_of_work(sessions) as session:
                await objects.start(session, mapping.uuid, _rows(snapshot))
        sequencer = _Sequencer()
        while True:
            if current.truncated:
                await _too_many(batcher, sessions, config.fs_max_objects)
            changes = differences(snapshot, current)
            for chunk in _chunks(changes, mapping.batch_size * mapping.parallelization_factor):
                records = [
                    to_record(c, sequencer.next(), name, mapping.source_arn, mapping.uuid, settings.region)
                    for c in chunk
                ]
                await _process(batcher, sessions, records, snapshot)
            if not changes:
                await _wait(watcher, config.fs_rescan_seconds, mapping.batching_window_seconds)
            current = await _scan(root, rules, config.fs_max_objects, watcher)
    finally:
        watcher.close()
        os.close(root)


async def _too_many(batcher: Batcher, sessions: SessionMaker, limit: int) -> None:
    batcher.last_error = (
        f"more than {limit} objects under {batcher.mapping.source_name!r}: only the first {limit} are "
        "watched, and none is reported removed (STEPLINE_EVENT_SOURCES__FS_MAX_OBJECTS)"
    )
    async with unit_of_work(sessions) as session:
        await mappings.report(session, batcher.mapping.uuid, "PROBLEM: too many objects", batcher.last_error)


async def _scan(root: int, rules: KeyFilter, limit: int, watcher: Watcher) -> Scan:
    watcher.changed.clear()
    watcher.start_round()
    return await asyncio.to_thread(scan, root, rules, limit=limit, watch=watcher.watch)


async def _wait(watcher: Watcher, rescan_seconds: float, window: int) -> None:
    """Until inotify says something changed (or ``rescan_seconds``), then the batching window (at
    least 50 ms, so a burst of writes is one scan)."""
    try:
        await asyncio.wait_for(watcher.changed.wait(), rescan_seconds)
    except TimeoutError:
        return
    await asyncio.sleep(max(window, 0.05))


def baseline(position: str | None, timestamp: datetime | None, current: Scan) -> dict[str, ObjectState]:
    """The objects of the first scan not to report: all (LATEST, None), none (TRIM_HORIZON), or those
    modified before ``timestamp`` (AT_TIMESTAMP)."""
    if position == "TRIM_HORIZON":
        return {}
    if position == "AT_TIMESTAMP" and timestamp is not None:
        since = int(timestamp.timestamp() * 1_000_000_000)
        return {k: s for k, s in current.objects.items() if s.mtime_ns < since}
    return dict(current.objects)


def _rows(snapshot: dict[str, ObjectState]) -> Iterator[tuple[str, int, int, int]]:
    return ((k, s.size, s.mtime_ns, s.inode) for k, s in snapshot.items())


def _chunks(changes: list[Change], size: int) -> Iterator[list[Change]]:
    for start in range(0, len(changes), size):
        yield changes[start : start + size]


async def _in_order(batcher: Batcher, records: list[Record], size: int) -> list[Outcome]:
    """One shard's records, at most ``size`` an invocation, one batch after the other."""
    return [await batcher.process(records[i : i + size]) for i in range(0, len(records), size)]


async def _process(
    batcher: Batcher, sessions: SessionMaker, records: list[Record], snapshot: dict[str, ObjectState]
) -> None:
    """Hand ``records`` to the function (sharded by key) and record in the snapshot those done."""
    uuid = batcher.mapping.uuid
    handed = [(PENDING + r.key, *r.handle.state) for r in records if r.handle.state is not None]
    if handed:
        async with unit_of_work(sessions) as session:
            await objects.store(session, uuid, handed, ())
    factor = batcher.mapping.parallelization_factor
    shards: dict[int, list[Record]] = {}
    for record in records:
        shards.setdefault(zlib.crc32(record.key.encode()) % factor, []).append(record)
    size = batcher.mapping.batch_size
    outcomes: list[list[Outcome]] = await asyncio.gather(
        *(_in_order(batcher, s, size) for s in shards.values())
    )
    done: list[Change] = [
        r.handle for shard in outcomes for o in shard for r in o.succeeded + o.routed + o.failed
    ]
    present = [(c.key, c.state.size, c.state.mtime_ns, c.state.inode) for c in done if c.state is not None]
    removed = [c.key for c in done if c.state is None] + [PENDING + c.key for c in done]
    async with unit_of_work(sessions) as session:
        await objects.store(session, uuid, present, removed)
    for change in done:
        if change.state is None:
            snapshot.pop(change.key, None)
        else:
            snapshot[change.key] = change.state
