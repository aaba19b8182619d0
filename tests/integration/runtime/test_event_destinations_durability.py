"""An Event invocation's destination fires exactly once per outcome even when the worker running it is
killed (SIGKILL) mid-invocation: the event is taken again by the next worker once its lease expires,
runs to its outcome, and the record is queued for the destination in the transaction recording that
outcome (real sandboxes, real PostgreSQL, workers in processes of their own)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from foundation.registry import event_invoke
from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, create_engine, session_maker, unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import fn_settings, requires_bwrap, unique
from workers.functions.codestore import CodeStore, zip_files

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings"]

SLOW = """import time


def handler(event, context):
    time.sleep(event["sleep"])
    return {"slept": event["sleep"]}
"""
RECORDER = "def handler(event, context):\n    return event\n"


@pytest.fixture
async def sessions(fn_settings: Settings) -> AsyncIterator[SessionMaker]:
    engine = create_engine(fn_settings.database.url.get_secret_value(), 2)
    yield session_maker(engine)
    await engine.dispose()


def _worker(settings: Settings) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.event_worker_process",
         settings.database.url.get_secret_value(), str(settings.data_dir)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3], env=os.environ.copy(),
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL, as a crash."""
    process.kill()
    process.wait()
    assert process.stdout is not None
    process.stdout.close()


async def _deploy(sessions: SessionMaker, settings: Settings, name: str, code: str) -> None:
    stored = CodeStore(settings.data_dir / "code").put(zip_files({"app.py": code}))
    fields = registry.FunctionSettings(
        runtime="python3.11", handler="app.handler", code_sha256=stored.sha256, code_size=stored.size
    )
    async with unit_of_work(sessions) as session:
        await registry.create_function(session, name, fields)


async def _until(check: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_worker_killed_mid_invocation_still_fires_the_destination_once(
    fn_settings: Settings, sessions: SessionMaker
) -> None:
    source, recorder = unique("slow"), unique("recorder")
    await _deploy(sessions, fn_settings, source, SLOW)
    await _deploy(sessions, fn_settings, recorder, RECORDER)
    async with unit_of_work(sessions) as session:
        await event_invoke.put_config(
            session, source, None,
            event_invoke.EventInvokeSettings(on_success=f"arn:aws:lambda:us-east-1:000000000000:function:{recorder}"),
        )  # fmt: skip
        event = await registry.enqueue_event(session, source, None, json.dumps({"sleep": 1}))

    async def status() -> tuple[str, int]:
        async with unit_of_work(sessions) as session:
            found = await registry.get_event(session, event.id)
            assert found is not None
            return found.status, found.attempts

    async def records() -> list[registry.FunctionEvent]:
        async with unit_of_work(sessions) as session:
            query = select(registry.FunctionEvent).where(
                col(registry.FunctionEvent.function_name) == recorder
            )
            return list((await session.exec(query)).all())

    first = _worker(fn_settings)
    try:

        async def running() -> bool:
            return await status() == ("RUNNING", 1)

        await _until(running, 60)
        await asyncio.sleep(0.5)  # inside the function's 1 s sleep
    finally:
        _kill(first)
    assert await status() == ("RUNNING", 1) and await records() == []

    second = _worker(fn_settings)
    try:

        async def recorded_and_drained() -> bool:
            """The source SUCCEEDED (its record queued in that transaction) and the queue drained
            after it: every recorder event run, so a duplicate record would be there by now."""
            found = await records()
            return (
                bool(found)
                and (await status())[0] == "SUCCEEDED"
                and all(r.status == "SUCCEEDED" for r in found)
            )

        await _until(recorded_and_drained, 90)
        found = await records()
    finally:
        _kill(second)
    assert len(found) == 1
    record = json.loads(found[0].payload)
    assert record["requestContext"]["requestId"] == event.id
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"] == {"slept": 1}
    assert await status() == ("SUCCEEDED", 2)
    async with unit_of_work(sessions) as session:
        assert await event_invoke.get_delivery(session, event.id) is None  # a function's goes by the queue
