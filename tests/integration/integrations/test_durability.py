"""A service call survives its worker's SIGKILL: the HTTP Task's call is an activity that heartbeats,
so a dead worker surfaces as States.HeartbeatTimeout, ASL Retry schedules the call again and another
worker makes it (at least once, as Step Functions itself calls)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

import httpx
import pytest

from tests.integration.executions.test_durability import worker_processes  # noqa: F401
from tests.integration.helpers import all_history, create_machine, start, wait_until_done
from tests.integration.integrations.conftest import HttpServer
from tests.integration.integrations.test_http_task import any_connection
from tests.integration.processes import kill

pytestmark = pytest.mark.slow


async def test_worker_killed_mid_call_another_worker_calls_again(
    api: httpx.AsyncClient,
    http_server: HttpServer,
    worker_processes: Callable[[], subprocess.Popen[bytes]],  # noqa: F811
) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {
                    "ApiEndpoint": f"{http_server.url}/slow?seconds=3",
                    "Method": "GET",
                    "Authentication": await any_connection(api),
                },
                "HeartbeatSeconds": 2,
                "TimeoutSeconds": 30,
                "Retry": [
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1, "MaxAttempts": 2}
                ],
                "ResultSelector": {"body.$": "$.ResponseBody"},
                "End": True,
            }
        },
    }
    first = worker_processes()
    machine = await create_machine(api, definition)
    execution = (await start(api, machine))["executionId"]
    for _ in range(200):
        if http_server.seen:
            break
        await asyncio.sleep(0.05)
    assert len(http_server.seen) == 1, "the first worker never called"
    kill(first)
    worker_processes()
    done = await wait_until_done(api, execution, seconds=60)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"body": {"slow": True}}
    assert len(http_server.seen) == 2
    types = [e["type"] for e in await all_history(api, execution)]
    assert types.count("TaskScheduled") == 2 and "TaskTimedOut" in types
