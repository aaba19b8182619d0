"""A Distributed Map of EXPRESS child executions survives its worker's ``kill -9`` mid-chunk: the
``run_express_chunk`` activity stops heartbeating, runs again from the chunk's start on another
worker, and the Map ends with the right output and counts. At least once, as AWS runs Express
children: the children that ran on the dead worker did their Task's side effect there, and again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from foundation.settings import Settings
from tests.integration.helpers import create_machine, start, wait_until_done
from tests.integration.processes import Spawn, kill, spawner

pytestmark = [pytest.mark.integration]

HEARTBEAT_SECONDS = 2.0
"""``Settings.worker.express_heartbeat_seconds`` for this test (10 s by default)."""
ITEMS = 10
SLEEP_SECONDS = 2
FN = "arn:aws:lambda:local:000000000000:function:"
DEFINITION = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": ITEMS,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Mark",
                "States": {
                    "Mark": {"Type": "Task", "Resource": FN + "mark", "Next": "Slow"},
                    "Slow": {"Type": "Task", "Resource": FN + "sleep", "Next": "Done"},
                    "Done": {
                        "Type": "Pass",
                        "Parameters": {"n.$": "$.n", "child.$": "$$.Execution.Name"},
                        "End": True,
                    },
                },
            },
            "End": True,
        }
    },
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test's settings with a short heartbeat timeout of Express chunks (the API puts it in each
    execution's input; the workflow schedules ``run_express_chunk`` with it)."""
    worker = settings.worker.model_copy(update={"express_heartbeat_seconds": HEARTBEAT_SECONDS})
    return settings.model_copy(update={"worker": worker})


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    return tmp_path / "marks"


@pytest.fixture
def marking_workers(settings: Settings, marks: Path) -> Iterator[Spawn]:
    """Workers as processes on the test's task queue whose ``mark`` function appends to ``marks``."""
    args = [
        settings.temporal.address,
        settings.database.url.get_secret_value(),
        settings.temporal.task_queue,
        str(marks),
    ]
    with spawner("tests.integration.worker_process", args) as spawn:
        yield spawn


def marked(marks: Path) -> Counter[str]:
    return Counter(marks.read_text().split()) if marks.exists() else Counter()


async def chunk_attempts(client: Client, execution_id: str) -> list[int]:
    """The attempt of each ``run_express_chunk`` activity that started, from the parent's history."""
    history = await client.get_workflow_handle(execution_id).fetch_history()
    scheduled = {
        e.event_id
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "run_express_chunk"
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and e.activity_task_started_event_attributes.scheduled_event_id in scheduled
    ]


async def test_worker_killed_mid_express_chunk(
    api: httpx.AsyncClient, temporal_client: Client, marking_workers: Spawn, marks: Path
) -> None:
    first = marking_workers()
    name = await create_machine(api, DEFINITION)
    items = [{"n": i, "marker": f"item{i}", "seconds": SLEEP_SECONDS} for i in range(ITEMS)]
    execution = (await start(api, name, items))["executionId"]
    deadline = time.monotonic() + 30
    while sum(marked(marks).values()) < ITEMS:  # every child has marked and sleeps in the first worker
        assert time.monotonic() < deadline, marked(marks)
        await asyncio.sleep(0.02)
    kill(first)
    killed = time.monotonic()
    marking_workers()
    done = await wait_until_done(api, execution, seconds=60)
    took = time.monotonic() - killed
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == [{"n": i, "child": str(i)} for i in range(ITEMS)]
    # The chunk ran again from its start on the second worker: every child did its side effect
    # twice (once in the dead worker, once in the retry), none lost, none more than that.
    assert marked(marks) == Counter({f"item{i}": 2 for i in range(ITEMS)})
    assert await chunk_attempts(temporal_client, execution) == [2]
    runs = (await api.get(f"/v1/executions/{execution}/map-runs")).json()["mapRuns"]
    assert len(runs) == 1 and runs[0]["status"] == "SUCCEEDED"
    assert runs[0]["itemCounts"]["succeeded"] == ITEMS and runs[0]["itemCounts"]["failed"] == 0
    # Noticed within the heartbeat timeout, retried after Temporal's 1 s backoff, the items' sleep, and
    # the second worker's start (6-8 s here); with the default 10 s timeout it would take 14 s or more.
    assert took < HEARTBEAT_SECONDS + 1 + SLEEP_SECONDS + 6, took
