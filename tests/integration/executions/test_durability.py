"""Crashes: SIGKILL the worker mid-Wait and mid-Task; a new worker finishes the execution."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.helpers import all_history, create_machine, start, wait_until_done
from tests.integration.processes import Spawn, kill, spawner

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Temporal's default workflow task timeout (10 s) instead of Stepline's 30 s: a Task running as a
    local activity on the killed worker runs again that much sooner."""
    temporal = settings.temporal.model_copy(update={"workflow_task_timeout_seconds": 10.0})
    return settings.model_copy(update={"temporal": temporal})


@pytest.fixture
def worker_processes(settings: Settings) -> Iterator[Spawn]:
    """Starts workers as processes on the test's task queue; kills leftovers at the end."""
    args = [
        settings.temporal.address,
        settings.database.url.get_secret_value(),
        settings.temporal.task_queue,
    ]
    with spawner("tests.integration.worker_process", args) as spawn:
        yield spawn


def assert_consistent(events: list[dict[str, object]]) -> None:
    """Ids run 1..n, each event follows an earlier one, one start and one end."""
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert all(int(e["previousEventId"]) < int(e["id"]) for e in events)  # type: ignore[call-overload]
    types = [e["type"] for e in events]
    assert types.count("ExecutionStarted") == 1 and types[0] == "ExecutionStarted"
    assert types.count("ExecutionSucceeded") == 1 and types[-1] == "ExecutionSucceeded"


async def test_worker_killed_mid_wait(api: httpx.AsyncClient, worker_processes: Spawn) -> None:
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


async def test_worker_killed_mid_task(api: httpx.AsyncClient, worker_processes: Spawn) -> None:
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
    api: httpx.AsyncClient, worker_processes: Spawn
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
