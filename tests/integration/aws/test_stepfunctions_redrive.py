"""RedriveExecution through unmodified boto3, with the worker in another process: a failed
execution continues from the state that failed (the states before it are not run again), through a
worker SIGKILLed while the redriven attempt waits; AWS's fields and errors."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from foundation.settings import Settings
from tests.integration.aws.conftest import client
from tests.integration.aws.server import ServerThread
from tests.integration.aws.test_stepfunctions_callbacks import history
from tests.integration.aws.test_stepfunctions_executions import call, machine, wait_done
from tests.integration.aws.test_stepfunctions_state_machines import error_of
from tests.integration.executions.test_durability import worker_processes
from tests.integration.processes import kill

pytestmark = [pytest.mark.integration, pytest.mark.slow]

__all__ = ["worker_processes"]  # the fixture, used below

Spawn = Callable[[], subprocess.Popen[bytes]]


@pytest.fixture
def url(settings: Settings) -> Iterator[str]:
    """The API without a worker of its own, on the test's task queue."""
    with ServerThread(settings, worker=False) as address:
        yield address


@pytest.fixture
def sfn(url: str) -> Any:
    return client(url, "stepfunctions", read_timeout=70)


def work_machine(sfn: Any, activity: str) -> str:
    return machine(
        sfn,
        {
            "StartAt": "Prep",
            "States": {
                "Prep": {"Type": "Pass", "Result": {"prepared": True}, "Next": "Work"},
                "Work": {
                    "Type": "Task",
                    "Resource": activity,
                    "TimeoutSeconds": 600,
                    "ResultPath": "$.worked",
                    "Next": "After",
                },
                "After": {"Type": "Pass", "Parameters": {"done.$": "$.worked"}, "End": True},
            },
        },
    )


def take_task(sfn: Any, activity: str) -> str:
    task = call(sfn, "GetActivityTask", activityArn=activity, workerName="test")
    assert task.get("taskToken"), task
    assert json.loads(task["input"]) == {"prepared": True}  # the Work state's input, both times
    return str(task["taskToken"])


def page_through(sfn: Any, execution_arn: str, reverse: bool) -> list[dict[str, Any]]:
    """Every event, two a page."""
    events: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = call(
            sfn,
            "GetExecutionHistory",
            executionArn=execution_arn,
            maxResults=2,
            reverseOrder=reverse,
            **token,
        )
        events += page["events"]
        if "nextToken" not in page:
            return events
        token = {"nextToken": page["nextToken"]}


def scheduled_again(sfn: Any, execution_arn: str, seconds: float = 30) -> list[dict[str, Any]]:
    """The history, once the redriven attempt has scheduled its activity task."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events = page_through(sfn, execution_arn, reverse=False)
        kinds = [e["type"] for e in events]
        if "ExecutionRedriven" in kinds and "ActivityScheduled" in kinds[kinds.index("ExecutionRedriven") :]:
            return events
        time.sleep(0.05)
    raise AssertionError("the redriven attempt scheduled no activity task")


def test_a_redriven_execution_continues_from_the_failed_state_through_a_killed_worker(
    sfn: Any, worker_processes: Spawn
) -> None:
    activity = call(sfn, "CreateActivity", name="redrive-work")["activityArn"]
    arn = work_machine(sfn, activity)
    first = worker_processes()
    started = call(sfn, "StartExecution", stateMachineArn=arn, input="{}")["executionArn"]
    call(sfn, "SendTaskFailure", taskToken=take_task(sfn, activity), error="Broken", cause="not yet")
    failed = wait_done(sfn, started)
    assert (failed["status"], failed["error"], failed["redriveStatus"]) == ("FAILED", "Broken", "REDRIVABLE")
    assert failed["redriveCount"] == 0 and "redriveStatusReason" not in failed
    before = [e["id"] for e in history(sfn, started)]

    redriven = call(sfn, "RedriveExecution", executionArn=started)
    waiting = scheduled_again(sfn, started)  # the whole history while the redriven attempt runs
    assert [e["id"] for e in waiting] == list(range(1, len(waiting) + 1))
    backwards = page_through(sfn, started, reverse=True)
    assert [e["id"] for e in backwards] == [e["id"] for e in reversed(waiting)]
    running = call(sfn, "DescribeExecution", executionArn=started)
    assert (running["status"], running["redriveCount"]) == ("RUNNING", 1)
    assert running["redriveDate"] == redriven["redriveDate"]
    with pytest.raises(ClientError) as twice:
        sfn.redrive_execution(executionArn=started)
    assert error_of(twice) == (
        "ExecutionNotRedrivable", f"Execution is RUNNING and cannot be redriven: '{started}'",
    )  # fmt: skip
    kill(first)  # the redriven attempt waits for its activity task on a worker that dies
    worker_processes()
    call(sfn, "SendTaskSuccess", taskToken=take_task(sfn, activity), output=json.dumps({"n": 1}))
    done = wait_done(sfn, started, seconds=60)
    assert done["status"] == "SUCCEEDED", (done, [e["type"] for e in history(sfn, started)])
    assert (done["status"], json.loads(done["output"]), done["redriveCount"]) == (
        "SUCCEEDED",
        {"done": {"n": 1}},
        1,
    )
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"

    events = history(sfn, started)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))  # one history, ids run on
    assert [e["id"] for e in events][: len(before)] == before
    kinds = [e["type"] for e in events]
    assert kinds[len(before) - 1 : len(before) + 2] == [
        "ExecutionFailed",
        "ExecutionRedriven",
        "TaskStateEntered",
    ]
    assert events[len(before)]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered == ["Prep", "Work", "Work", "After"]  # Prep succeeded: not run again
    listed = call(sfn, "ListExecutions", stateMachineArn=arn, redriveFilter="REDRIVEN")["executions"]
    assert [(e["executionArn"], e["redriveCount"]) for e in listed] == [(started, 1)]
    assert call(sfn, "ListExecutions", stateMachineArn=arn, redriveFilter="NOT_REDRIVEN")["executions"] == []
    with pytest.raises(ClientError) as succeeded:
        sfn.redrive_execution(executionArn=started)
    assert error_of(succeeded)[0] == "ExecutionNotRedrivable"
    with pytest.raises(ClientError) as unknown:
        sfn.redrive_execution(executionArn=f"{started}x")
    assert error_of(unknown)[0] == "ExecutionDoesNotExist"
