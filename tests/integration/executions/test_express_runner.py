"""The asynchronous Express runner in-process: an execution past its time limit ends ExecutionTimedOut,
and one whose runs never ended (each killed its worker) is given up as failed; both leave the queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.registry import express_executions as queue
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.execution_logs import LoggingConfig
from foundation.registry.express_executions import ExpressExecution
from foundation.settings import Settings
from statemachine import express_execution_arn
from tests.integration.functions import TestInvoker
from tests.integration.helpers import create_machine, start
from workers.express import MAX_ATTEMPTS, ExpressRunner

pytestmark = pytest.mark.integration

GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:runner-tests:*"
LOGGING = {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}]}


@pytest.fixture
async def runner(settings: Settings, sessions: SessionMaker, tmp_path: Path) -> AsyncIterator[None]:
    """A runner on the test's task queue whose executions time out after one second."""
    own = settings.model_copy(update={"data_dir": tmp_path})
    async with ExpressRunner(own, sessions, TestInvoker(), None, poll_seconds=0.2, limit_seconds=1.0):
        yield


async def events_of(api: httpx.AsyncClient, arn: str, last: str) -> list[dict[str, Any]]:
    for _ in range(200):
        found = (await api.get("/v1/execution-logs", params={"executionArn": arn})).json()["events"]
        if any(e["message"]["type"] == last for e in found):
            return [e["message"] for e in found]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {last} for {arn}")


async def queued(sessions: SessionMaker, arn: str) -> bool:
    async with unit_of_work(sessions) as session:
        return await session.get(ExpressExecution, arn) is not None


async def test_an_express_execution_past_its_limit_times_out(
    api: httpx.AsyncClient, runner: None, sessions: SessionMaker
) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    machine = await create_machine(api, definition, type="EXPRESS")
    assert (
        await api.put(f"/v1/state-machines/{machine}/logging-configuration", json=LOGGING)
    ).status_code == 200
    arn = (await start(api, machine, {}))["executionArn"]
    events = await events_of(api, arn, "ExecutionTimedOut")
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateAborted",
        "ExecutionTimedOut",
    ]
    assert events[-1]["details"]["error"] == "States.Timeout"
    assert not await queued(sessions, arn)


async def test_an_execution_that_never_ended_is_given_up(
    api: httpx.AsyncClient, settings: Settings, runner: None, sessions: SessionMaker
) -> None:
    machine = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = express_execution_arn(machine, "crashy", "00000000-0000-4000-8000-000000000000")
    row = queue.queued(
        arn, settings.temporal.task_queue, "crashy", machine, 1, "{}", None, "{}", datetime.now(UTC),
        LoggingConfig("FATAL", False, "runner-tests"),
    )  # fmt: skip
    row.attempts = MAX_ATTEMPTS  # three runs that each killed their worker
    async with unit_of_work(sessions) as session:
        await queue.enqueue(session, row)
    events = await events_of(api, arn, "ExecutionFailed")
    assert [(e["type"], e["details"]["error"]) for e in events] == [("ExecutionFailed", "States.Runtime")]
    assert not await queued(sessions, arn)
