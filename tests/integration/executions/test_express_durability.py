"""An asynchronous Express execution whose worker is SIGKILLed mid-run is run again from its start by
another worker once the lease runs out (at least once, as Step Functions runs them), and ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.helpers import create_machine, start
from tests.integration.processes import Spawn, kill, spawner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:durable-express:*"
DEFINITION = {
    "StartAt": "Mark",
    "States": {
        "Mark": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:local:000000000000:function:mark",
            "Next": "Slow",
        },
        "Slow": {"Type": "Task", "Resource": "arn:aws:lambda:local:000000000000:function:sleep", "End": True},
    },
}


@pytest.fixture
def express_workers(settings: Settings, tmp_path: Path) -> Iterator[Spawn]:
    """Starts Express workers as processes (one data dir, one marks file); kills leftovers at the end."""
    args = [
        settings.database.url.get_secret_value(),
        settings.temporal.task_queue,
        str(tmp_path),
        str(tmp_path / "marks"),
    ]
    with spawner("tests.integration.express_worker_process", args) as spawn:
        yield spawn


async def logged(
    api: httpx.AsyncClient, arn: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    for _ in range(600):
        answer = (await api.get("/v1/execution-logs", params={"executionArn": arn, "limit": 1000})).json()
        if until(answer["events"]):
            return list(answer["events"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"not logged: {answer}")


async def test_worker_killed_mid_express_execution(
    api: httpx.AsyncClient, express_workers: Spawn, tmp_path: Path
) -> None:
    machine = await create_machine(api, DEFINITION, type="EXPRESS")
    configured = await api.put(
        f"/v1/state-machines/{machine}/logging-configuration",
        json={
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}],
        },
    )
    assert configured.status_code == 200, configured.text
    first = express_workers()
    arn = (await start(api, machine, {"marker": "ran", "seconds": 3}))["executionArn"]
    await logged(
        api, arn, lambda events: sum(e["message"]["type"].endswith("Scheduled") for e in events) >= 2
    )
    # the second Task (3 s) is running in the first worker
    kill(first)
    express_workers()
    events = await logged(
        api, arn, lambda events: any(e["message"]["type"] == "ExecutionSucceeded" for e in events)
    )
    by_attempt: dict[int, list[str]] = {}
    for event in events:
        by_attempt.setdefault(event["attempt"], []).append(event["message"]["type"])
    assert sorted(by_attempt) == [1, 2], by_attempt
    assert "ExecutionSucceeded" not in by_attempt[1] and by_attempt[2][-1] == "ExecutionSucceeded"
    assert by_attempt[2][0] == "ExecutionStarted"  # run again from its start
    assert (tmp_path / "marks").read_text() == "ran\nran\n"  # the side effect happened at least once (twice)
    succeeded = next(e["message"] for e in events if e["message"]["type"] == "ExecutionSucceeded")
    output = succeeded["details"]["output"]
    assert '"marker":"ran"' in output
