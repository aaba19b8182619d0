"""Activities, task tokens and nested executions through unmodified boto3 against the real API and a
worker; an activity worker in a separate process; every response checked against its output shape."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.test_stepfunctions_executions import (
    ROLE,
    call,
    error_of,
    machine,
    unique,
    wait_done,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def activity_worker(url: str, activity_arn: str, tasks: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.aws.activity_worker", url, activity_arn, str(tasks)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
    return process


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    return list(call(sfn, "GetExecutionHistory", executionArn=execution_arn, maxResults=1000)["events"])


def wait_for_event(sfn: Any, execution_arn: str, kind: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [e for e in history(sfn, execution_arn) if e["type"] == kind]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event in {seconds} s")


def test_activities_are_created_described_listed_and_deleted(sfn: Any) -> None:
    name = unique("act")
    created = call(sfn, "CreateActivity", name=name)
    assert created["activityArn"].endswith(f":activity:{name}")
    assert call(sfn, "CreateActivity", name=name)["activityArn"] == created["activityArn"]  # idempotent
    described = call(sfn, "DescribeActivity", activityArn=created["activityArn"])
    assert described["name"] == name
    listed = call(sfn, "ListActivities", maxResults=1000)["activities"]
    assert name in [a["name"] for a in listed]
    call(sfn, "DeleteActivity", activityArn=created["activityArn"])
    with pytest.raises(ClientError) as missing:
        sfn.describe_activity(activityArn=created["activityArn"])
    assert error_of(missing)[0] == "ActivityDoesNotExist"
    with pytest.raises(ClientError) as bad_name:
        sfn.create_activity(name="no spaces allowed")
    assert error_of(bad_name)[0] == "InvalidName"
    with pytest.raises(ClientError) as bad_arn:
        sfn.get_activity_task(activityArn="arn:aws:states:us-east-1:000000000000:stateMachine:x")
    assert error_of(bad_arn)[0] == "InvalidArn"


def test_an_activity_worker_in_another_process_runs_the_task(sfn: Any, aws_url: str) -> None:
    activity = call(sfn, "CreateActivity", name=unique("act"))["activityArn"]
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": activity,
                "HeartbeatSeconds": 30,
                "TimeoutSeconds": 60,
                "Catch": [{"ErrorEquals": ["Refused"], "ResultPath": "$.error", "Next": "Refused"}],
                "End": True,
            },
            "Refused": {"Type": "Pass", "End": True},
        },
    }
    arn = machine(sfn, definition)
    worker = activity_worker(aws_url, activity, 2)
    try:
        ok = call(sfn, "StartExecution", stateMachineArn=arn, input=json.dumps({"n": 1}))["executionArn"]
        done = wait_done(sfn, ok)
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == {"worked": {"n": 1}, "by": "test-activity-worker"}
        events = history(sfn, ok)
        types = [e["type"] for e in events]
        assert types[types.index("ActivityScheduled") : types.index("ActivitySucceeded") + 1] == [
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
        ]
        scheduled = next(e for e in events if e["type"] == "ActivityScheduled")[
            "activityScheduledEventDetails"
        ]
        assert (scheduled["resource"], json.loads(scheduled["input"])) == (activity, {"n": 1})
        assert (scheduled["timeoutInSeconds"], scheduled["heartbeatInSeconds"]) == (60, 30)
        started = next(e for e in events if e["type"] == "ActivityStarted")
        assert started["activityStartedEventDetails"]["workerName"] == "test-activity-worker"
        refused = call(sfn, "StartExecution", stateMachineArn=arn, input=json.dumps({"fail": "Refused"}))
        done = wait_done(sfn, refused["executionArn"])
        assert json.loads(done["output"])["error"] == {"Error": "Refused", "Cause": "the worker refused it"}
        assert worker.wait(30) == 0
    finally:
        worker.kill()
        worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


def test_an_activity_nobody_works_on_times_out(sfn: Any, aws_url: str) -> None:
    activity = call(sfn, "CreateActivity", name=unique("act"))["activityArn"]
    arn = machine(
        sfn,
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 2, "End": True}},
        },
    )
    execution = call(sfn, "StartExecution", stateMachineArn=arn)["executionArn"]
    done = wait_done(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    assert "ActivityTimedOut" in [e["type"] for e in history(sfn, execution)]
    name = activity.rsplit(":", 1)[1]  # withdrawn: nothing to hand out (a short poll, through /v1)
    polled = httpx.post(f"{aws_url}/v1/activities/{name}/tasks", params={"waitSeconds": 0.5}, timeout=30)
    assert polled.json() == {"taskToken": None, "input": None}


def test_nested_executions_run_to_completion_as_sync_and_sync2(sfn: Any) -> None:
    child = machine(
        sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True}}}
    )
    failing = machine(
        sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "child"}}}
    )
    definition = {
        "StartAt": "Sync2",
        "States": {
            "Sync2": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": child,
                    "Input": {"n": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
                },
                "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status", "arn.$": "$.ExecutionArn"},
                "ResultPath": "$.sync2",
                "Next": "Sync",
            },
            "Sync": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": child, "Input": {"n": 2}, "Name.$": "$.name"},
                "ResultSelector": {"out.$": "$.Output"},
                "ResultPath": "$.sync",
                "Next": "Fire",
            },
            "Fire": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {"StateMachineArn": child, "Input": '{"n": 3}'},
                "ResultPath": "$.fired",
                "Next": "Failing",
            },
            "Failing": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": failing},
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failed", "Next": "Done"}],
                "End": True,
            },
            "Done": {"Type": "Succeed"},
        },
    }
    parent = machine(sfn, definition)
    child_name = unique("child")
    started = call(sfn, "StartExecution", stateMachineArn=parent, input=json.dumps({"name": child_name}))
    done = wait_done(sfn, started["executionArn"], seconds=60)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["sync2"]["out"] == {"got": 1} and output["sync2"]["status"] == "SUCCEEDED"
    assert output["sync"]["out"] == json.dumps({"got": 2}, separators=(",", ":"))
    assert set(output["fired"]) == {"ExecutionArn", "StartDate"} and isinstance(
        output["fired"]["StartDate"], int
    )
    assert output["failed"]["Error"] == "States.TaskFailed"
    assert json.loads(output["failed"]["Cause"])["Error"] == "Nope"
    child_arn = output["sync2"]["arn"]
    described = call(sfn, "DescribeExecution", executionArn=child_arn)
    assert (
        json.loads(described["input"])["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
        == started["executionArn"]
    )
    named = call(
        sfn, "DescribeExecution", executionArn=child_arn.replace(child_arn.rsplit(":", 1)[1], child_name)
    )
    assert named["status"] == "SUCCEEDED"
    submitted = [e for e in history(sfn, started["executionArn"]) if e["type"] == "TaskSubmitted"]
    assert json.loads(submitted[0]["taskSubmittedEventDetails"]["output"])["ExecutionArn"] == child_arn
    fired = wait_done(sfn, output["fired"]["ExecutionArn"])
    assert json.loads(fired["output"]) == {"got": 3}


def test_a_child_calls_back_with_its_parents_token(sfn: Any) -> None:
    child = machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    parent = machine(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                    "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        },
    )
    started = call(sfn, "StartExecution", stateMachineArn=parent)["executionArn"]
    submitted = wait_for_event(sfn, started, "TaskSubmitted")["taskSubmittedEventDetails"]
    child_arn = json.loads(submitted["output"])["ExecutionArn"]
    token = json.loads(wait_done(sfn, child_arn)["output"])["token"]
    call(sfn, "SendTaskHeartbeat", taskToken=token)
    call(sfn, "SendTaskSuccess", taskToken=token, output=json.dumps({"answer": 42}))
    assert json.loads(wait_done(sfn, started)["output"]) == {"answer": 42}
    with pytest.raises(ClientError) as again:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_of(again)[0] == "TaskTimedOut"
    with pytest.raises(ClientError) as invalid:
        sfn.send_task_failure(taskToken="x" * 40)
    assert error_of(invalid)[0] == "InvalidToken"
    with pytest.raises(ClientError) as bad_output:
        sfn.send_task_success(taskToken=token, output="not json")
    assert error_of(bad_output)[0] == "InvalidOutput"


def test_stopping_a_parent_stops_its_sync_child(sfn: Any) -> None:
    child = machine(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 120, "End": True}}})
    parent = machine(
        sfn,
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child},
                    "End": True,
                }
            },
        },
    )
    started = call(sfn, "StartExecution", stateMachineArn=parent)["executionArn"]
    submitted = wait_for_event(sfn, started, "TaskSubmitted")["taskSubmittedEventDetails"]
    child_arn = json.loads(submitted["output"])["ExecutionArn"]
    assert call(sfn, "DescribeExecution", executionArn=child_arn)["status"] == "RUNNING"
    call(sfn, "StopExecution", executionArn=started, error="Halt", cause="operator")
    assert wait_done(sfn, started)["status"] == "ABORTED"
    assert wait_done(sfn, child_arn)["status"] == "ABORTED"


def test_a_child_started_through_an_alias_or_a_version_runs_that_version(sfn: Any) -> None:
    first = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "one", "End": True}}}
    created = call(
        sfn, "CreateStateMachine", name=unique(), definition=json.dumps(first), roleArn=ROLE, publish=True
    )
    child, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    second = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "two", "End": True}}}
    call(sfn, "UpdateStateMachine", stateMachineArn=child, definition=json.dumps(second), publish=True)
    routing = [{"stateMachineVersionArn": v1, "weight": 100}]
    alias = call(sfn, "CreateStateMachineAlias", name="live", routingConfiguration=routing)[
        "stateMachineAliasArn"
    ]

    def run(target: str) -> dict[str, Any]:
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": target},
            "End": True,
        }
        parent = machine(sfn, {"StartAt": "Run", "States": {"Run": task}})
        return wait_done(sfn, call(sfn, "StartExecution", stateMachineArn=parent)["executionArn"])

    through_alias = run(alias)
    assert through_alias["status"] == "SUCCEEDED", through_alias
    assert json.loads(through_alias["output"])["Output"] == "one"  # the alias routes to version 1
    child_arn = json.loads(through_alias["output"])["ExecutionArn"]
    described = call(sfn, "DescribeExecution", executionArn=child_arn)
    assert described["stateMachineAliasArn"] == alias and described["stateMachineVersionArn"] == v1
    assert json.loads(run(child)["output"])["Output"] == "two"  # the latest revision
    missing = run(f"{child}:nosuchalias")
    assert (missing["status"], missing["error"]) == ("FAILED", "StepFunctions.ResourceNotFoundException")
