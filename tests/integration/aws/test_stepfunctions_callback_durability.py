"""Crashes with tasks waiting: the API alone on a loopback port, workers in processes that are
SIGKILLed while a callback waits and while a ``.sync`` child runs; unmodified boto3 throughout."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from foundation.settings import Settings
from tests.integration.aws.conftest import client
from tests.integration.aws.server import ServerThread
from tests.integration.aws.test_stepfunctions_callbacks import activity_worker, wait_for_event
from tests.integration.aws.test_stepfunctions_executions import call, machine, wait_done
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


def test_a_callback_and_an_activity_wait_through_a_killed_worker(
    sfn: Any, url: str, worker_processes: Spawn
) -> None:
    child = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    activity = call(sfn, "CreateActivity", name=f"act-{child.rsplit(':', 1)[1]}")["activityArn"]
    parent = machine(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                    "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 600,
                    "ResultPath": "$.answer",
                    "Next": "Work",
                },
                "Work": {"Type": "Task", "Resource": activity, "End": True},
            },
        },
    )
    first = worker_processes()
    started = call(sfn, "StartExecution", stateMachineArn=parent, input="{}")["executionArn"]
    submitted = wait_for_event(sfn, started, "TaskSubmitted")["taskSubmittedEventDetails"]
    token = json.loads(wait_done(sfn, json.loads(submitted["output"])["ExecutionArn"])["output"])["token"]
    kill(first)
    second = worker_processes()
    call(sfn, "SendTaskSuccess", taskToken=token, output=json.dumps({"yes": True}))
    wait_for_event(sfn, started, "ActivityScheduled")
    kill(second)
    worker_processes()
    outside = activity_worker(url, activity, 1)
    try:
        done = wait_done(sfn, started, seconds=60)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {
            "worked": {"answer": {"yes": True}},
            "by": "test-activity-worker",
        }
        assert outside.wait(30) == 0
    finally:
        outside.kill()
        outside.wait()
        if outside.stdout is not None:
            outside.stdout.close()
    types = [
        e["type"] for e in call(sfn, "GetExecutionHistory", executionArn=started, maxResults=1000)["events"]
    ]
    assert types.count("TaskSucceeded") == 1 and types.count("ActivityStarted") == 1


def test_a_sync_child_finishes_through_a_killed_worker(sfn: Any, worker_processes: Spawn) -> None:
    child = machine(
        sfn,
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": 2, "Next": "P"},
                "P": {"Type": "Pass", "Parameters": {"slept": True}, "End": True},
            },
        },
    )
    parent = machine(
        sfn,
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
    )
    first = worker_processes()
    started = call(sfn, "StartExecution", stateMachineArn=parent)["executionArn"]
    wait_for_event(sfn, started, "TaskSubmitted")
    kill(first)
    worker_processes()
    done = wait_done(sfn, started, seconds=60)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"slept": True}
