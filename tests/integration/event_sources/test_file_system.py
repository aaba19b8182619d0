"""Stepline file systems as an event source, end to end through real sandboxes and PostgreSQL: S3-shaped
records for objects created and removed, prefix/suffix rules, links and odd names, inotify waking the
poller long before its rescan, and a worker SIGKILLed mid-batch losing no created object (its
successor finds them by comparing a scan with the stored snapshot)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from foundation.registry import event_source_mappings as registry
from foundation.registry import event_source_objects as objects
from foundation.registry import resources
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from tests.integration.event_sources.kit import create, delete, spawn
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.core import Invoke
from workers.events.sources.runner import EventSources, source_invoker
from workers.filesystems import file_system_path, prepare_file_system
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]
NOOP = "def handler(event, context):\n    return {}\n"


def recording(invoke: Invoke, seen: list[dict[str, Any]], batches: list[int] | None = None) -> Invoke:
    """``invoke``, keeping the records of each successful invocation (and each batch's size)."""

    async def run(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        if batches is not None:
            batches.append(len(json.loads(payload)["Records"]))
        result = await invoke(name, payload, qualifier)
        if result.function_error is None:
            seen.extend(json.loads(payload)["Records"])
        return result

    return run


def sources(
    service: FunctionService, seen: list[dict[str, Any]], rescan: float = 60.0,
    batches: list[int] | None = None,
) -> EventSources:  # fmt: skip
    events = service.settings.event_sources.model_copy(
        update={"scan_seconds": 0.2, "lease_seconds": 2.0, "fs_rescan_seconds": rescan}
    )
    return EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions,
        recording(source_invoker(service), seen, batches), metrics_registry=CollectorRegistry(), backoff=0.05,
    )  # fmt: skip


async def until(check: Callable[[], Awaitable[bool] | bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found if isinstance(found, bool) else await found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def file_system(service: FunctionService) -> tuple[str, Path]:
    name = unique("fs").replace("-", "_")
    async with unit_of_work(service.sessions) as session:
        await resources.add_file_system(
            session, resources.FileSystem(name=name, host_path=None, created_at=datetime.now(UTC))
        )
    return name, prepare_file_system(file_system_path(service.settings.data_dir, name, None))


def events(seen: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["eventName"], r["s3"]["object"]["key"]) for r in seen}


async def test_created_and_removed_objects_reach_the_function_as_s3_records(
    service: FunctionService, tmp_path: Path
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": NOOP})
    fs, root = await file_system(service)
    (root / "uploads").mkdir()
    (root / "uploads" / "old.jpg").write_text("before the mapping")
    secret = tmp_path / "secret.jpg"
    secret.write_text("outside the file system")
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:s3:::{fs}/uploads/*.jpg", functionName=name,
        startingPosition="TRIM_HORIZON", batchSize=10,
    )  # fmt: skip
    seen: list[dict[str, Any]] = []
    async with sources(service, seen, rescan=60.0):
        await until(lambda: ("ObjectCreated:Put", "uploads/old.jpg") in events(seen))
        started = time.monotonic()
        (root / "uploads" / "new.jpg").write_bytes(b"12345")
        (root / "uploads" / "skip.png").write_text("suffix")
        (root / "other.jpg").write_text("prefix")
        (root / "uploads" / "line\nbreak.jpg").write_text("odd name")
        (root / "uploads" / "link.jpg").symlink_to(secret)
        (root / "uploads" / "old.jpg").unlink()
        wanted = {
            ("ObjectCreated:Put", "uploads/new.jpg"),
            ("ObjectCreated:Put", "uploads/line%0Abreak.jpg"),
            ("ObjectRemoved:Delete", "uploads/old.jpg"),
        }
        await until(lambda: wanted <= events(seen), 30)
        assert time.monotonic() - started < 30, "inotify woke the poller before its 60 s rescan"
        await asyncio.sleep(0.5)
    assert events(seen) == wanted | {("ObjectCreated:Put", "uploads/old.jpg")}
    new = next(r for r in seen if r["s3"]["object"]["key"] == "uploads/new.jpg")
    assert new["eventSource"] == "stepline:fs" and new["eventSourceARN"] == f"arn:aws:s3:::{fs}/uploads/*.jpg"
    assert new["s3"]["bucket"] == {
        "name": fs,
        "ownerIdentity": {"principalId": "stepline"},
        "arn": f"arn:aws:s3:::{fs}",
    }
    assert new["s3"]["object"]["size"] == 5 and len(new["s3"]["object"]["eTag"]) == 32
    assert new["s3"]["configurationId"] == mapping.uuid
    removed = next(r for r in seen if r["eventName"] == "ObjectRemoved:Delete")
    assert "size" not in removed["s3"]["object"]
    sequencers = [r["s3"]["object"]["sequencer"] for r in seen]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == len(sequencers)
    await delete(service.sessions, mapping.uuid)


SLOW = """import time


def handler(event, context):
    time.sleep(0.1)
    return {}
"""


async def test_a_worker_killed_mid_batch_loses_no_created_object(
    service: FunctionService, fn_settings: Settings
) -> None:
    """SIGKILL the leading worker while it works through 80 new files, then create 20 more and remove
    four the function was told of while no worker runs: the next leader reports every creation (what
    the killed one finished may come twice) and every one of those removals."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    fs, root = await file_system(service)
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:s3:::{fs}", functionName=name, batchSize=4,
        startingPosition="LATEST",
    )  # fmt: skip
    child = spawn(fn_settings, "tests.integration.event_sources.fs_worker_process")
    assert child.stdout is not None
    first: list[str] = []
    try:
        assert (await asyncio.to_thread(child.stdout.readline)).strip() == "ready"

        async def baseline_taken() -> bool:  # LATEST: what follows is new
            async with unit_of_work(service.sessions) as session:
                return await objects.load(session, mapping.uuid) is not None

        await until(baseline_taken, 30)
        for i in range(80):
            (root / f"f-{i:03}").write_text(str(i))
        while len(first) < 12:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, "the worker ended"
            if line.startswith("ok "):
                first.append(line.split()[2])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    first += [w.split()[2] for w in child.stdout.read().splitlines() if w.startswith("ok ")]
    child.stdout.close()
    assert len(set(first)) < 80, "killed with nothing left"
    for i in range(80, 100):  # while no worker runs
        (root / f"f-{i:03}").write_text(str(i))
    told = sorted(set(first))[-4:]  # the function saw these created (the last maybe not yet recorded)
    for key in told:
        (root / key).unlink()
    seen: list[dict[str, Any]] = []
    everything = {f"f-{i:03}" for i in range(100)}
    removals = {("ObjectRemoved:Delete", k) for k in told}
    async with sources(service, seen, rescan=60.0):
        await until(
            lambda: (
                set(first) | {k for e, k in events(seen) if e == "ObjectCreated:Put"} == everything
                and removals <= events(seen)
            ),
            120,
        )
    assert seen, "the successor reported what the killed worker left"
    await delete(service.sessions, mapping.uuid)


async def test_a_flood_is_reported_once_each_and_past_the_cap_says_so(service: FunctionService) -> None:
    """2,000 files in 20 directories: each reported once, in batches of at most BatchSize, the
    snapshot holding them all; a mapping capped at 500 objects reports the problem instead of guessing."""
    name = await deploy(service, unique("esm"), {"app.py": NOOP})
    fs, root = await file_system(service)
    for d in range(20):
        (root / f"d{d}").mkdir()
        for i in range(100):
            (root / f"d{d}" / f"f{i}").write_bytes(b"")
    mapping = await create(
        service.sessions, eventSourceArn=f"arn:aws:s3:::{fs}", functionName=name, batchSize=100,
        parallelizationFactor=2, startingPosition="TRIM_HORIZON",
    )  # fmt: skip
    batches: list[int] = []
    seen: list[dict[str, Any]] = []
    async with sources(service, seen, batches=batches):
        await until(lambda: len(seen) >= 2000, 120)
        await asyncio.sleep(0.5)
    assert len(seen) == 2000 and len(events(seen)) == 2000 and max(batches) <= 100
    async with unit_of_work(service.sessions) as session:
        assert len(await objects.load(session, mapping.uuid) or {}) == 2000
    await delete(service.sessions, mapping.uuid)
    capped = await create(
        service.sessions, eventSourceArn=f"arn:aws:s3:::{fs}", functionName=name, startingPosition="LATEST"
    )
    events_settings = service.settings.event_sources.model_copy(
        update={"scan_seconds": 0.2, "lease_seconds": 2.0, "fs_max_objects": 500}
    )
    async with EventSources(
        service.settings.model_copy(update={"event_sources": events_settings}), service.sessions,
        source_invoker(service), metrics_registry=CollectorRegistry(),
    ):  # fmt: skip

        async def reported() -> bool:
            async with unit_of_work(service.sessions) as session:
                return (await registry.get_mapping(session, capped.uuid)).last_result.startswith("PROBLEM")

        await until(reported, 30)
    async with unit_of_work(service.sessions) as session:
        row = await registry.get_mapping(session, capped.uuid)
    assert row.last_result == "PROBLEM: too many objects"
    assert "more than 500 objects" in (row.last_error or "")
    await delete(service.sessions, capped.uuid)


async def test_an_object_handed_over_then_removed_while_down_is_reported_removed(
    service: FunctionService,
) -> None:
    """The worker stops after the function saw an object created but before the outcome was recorded
    (the moment a kill -9 can strike); the object is removed while no worker runs: the successor
    reports its removal (the pending row says the function may have seen it)."""
    name = await deploy(service, unique("esm"), {"app.py": NOOP})
    fs, root = await file_system(service)
    mapping = await create(
        service.sessions,
        eventSourceArn=f"arn:aws:s3:::{fs}",
        functionName=name,
        startingPosition="TRIM_HORIZON",
    )
    (root / "brief.txt").write_text("here for a moment")
    told = asyncio.Event()

    async def hangs_after(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        result = await source_invoker(service)(name, payload, qualifier)
        told.set()
        await asyncio.Event().wait()  # "killed" here: the outcome is never recorded
        return result

    events_settings = service.settings.event_sources.model_copy(
        update={"scan_seconds": 0.2, "lease_seconds": 2.0}
    )
    settings = service.settings.model_copy(update={"event_sources": events_settings})
    async with EventSources(settings, service.sessions, hangs_after, metrics_registry=CollectorRegistry()):
        await asyncio.wait_for(told.wait(), 60)
    (root / "brief.txt").unlink()
    seen: list[dict[str, Any]] = []
    async with sources(service, seen):
        await until(lambda: ("ObjectRemoved:Delete", "brief.txt") in events(seen), 60)
    async with unit_of_work(service.sessions) as session:
        assert await objects.load(session, mapping.uuid) == {}
    await delete(service.sessions, mapping.uuid)
