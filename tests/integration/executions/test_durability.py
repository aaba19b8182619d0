"""Crashes: SIGKILL the worker mid-Wait and mid-Task; a new worker finishes the execution."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.helpers import all_history, create_machine, start, wait_until_done

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def worker_processes(settings: Settings) -> AsyncIterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts workers as processes on the test's task queue; kills leftovers at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        args = [
            settings.temporal.address,
            settings.database.url.get_secret_value(),
            settings.temporal.task_queue,
        ]
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.worker_process", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        started.append(process)
        return process

    yield spawn
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def assert_consistent(events: list[dict[str, object]]) -> None:
    """Ids run 1..n, each event follows an earlier one, one start and one end."""
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(int(e["previousEventId"]) < int(e["id"]) for e in events)  # type: ignore[call-overload]
    types = [e["type"] for e in events]
    assert types.count("ExecutionStarted") == 1 and types[0] == "ExecutionStarted"
    assert types.count("ExecutionSucceeded") == 1 and types[-1] == "ExecutionSucceeded"


async def test_worker_killed_mid_wait(
    api: httpx.AsyncClient, worker_processes: Callable[[], subprocess.Popen[bytes]]
) -> None:
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 3, "Next": "After"},
            "After": {"Type": "Pass", "Parameters": {"before.$": "$.n", "after": True}, "End": True},
        },
    }
    first = worker_processes()
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"n": 7}))["executionId"]
    for _ in range(100):
        if any(e["type"] == "WaitStateEntered" for e in await all_history(api, execution)):
            break
        await asyncio.sleep(0.05)
    kill(first)
    worker_processes()
    done = await wait_until_done(api, execution, seconds=60)
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"before": 7, "after": True})
    events = await all_history(api, execution)
    assert_consistent(events)
    assert [e["type"] for e in events].count("WaitStateExited") == 1


async def test_worker_killed_mid_task(
    api: httpx.AsyncClient, worker_processes: Callable[[], subprocess.Popen[bytes]]
) -> None:
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:sleep",
                "TimeoutSeconds": 30,
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "Parameters": {"slept.$": "$.seconds"}, "End": True},
        },
    }
    first = worker_processes()
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"seconds": 3}))["executionId"]
    await asyncio.sleep(1.5)  # the function runs (3 s) inside the first worker
    kill(first)
    worker_processes()
    done = await wait_until_done(api, execution, seconds=60)
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"slept": 3})
    events = await all_history(api, execution)
    assert_consistent(events)
    assert [e["type"] for e in events].count("LambdaFunctionSucceeded") == 1


async def test_worker_killed_mid_heartbeat_task_retries_by_asl(
    api: httpx.AsyncClient, worker_processes: Callable[[], subprocess.Popen[bytes]]
) -> None:
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:sleep",
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 2,
                "Retry": [
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1, "MaxAttempts": 1}
                ],
                "End": True,
            }
        },
    }
    first = worker_processes()
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"seconds": 3}))["executionId"]
    await asyncio.sleep(1.5)
    kill(first)
    worker_processes()
    done = await wait_until_done(api, execution, seconds=60)
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"seconds": 3})
    events = await all_history(api, execution)
    assert_consistent(events)
    failures = [
        e for e in events if e["type"] in ("LambdaFunctionTimedOut", "LambdaFunctionFailed", "TaskTimedOut")
    ]
    assert len(failures) == 1, [e["type"] for e in events]
