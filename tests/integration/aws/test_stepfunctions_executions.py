"""Step Functions' execution operations through unmodified boto3 against the real API and a worker:
executions started, waited for, described, listed, stopped, their history paged both ways; every
response checked against the operation's output shape."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.integration.aws.contract import check_response

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
STEPS = {
    "StartAt": "One",
    "States": {
        "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
        "Two": {"Type": "Pass", "Result": 2, "ResultPath": "$.two", "Next": "Three"},
        "Three": {"Type": "Pass", "Result": 3, "ResultPath": "$.three", "End": True},
    },
}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}


def unique(prefix: str = "sm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def call(sfn: Any, operation: str, **params: Any) -> dict[str, Any]:
    method = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
    return check_response("stepfunctions", operation, getattr(sfn, method)(**params))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def machine(sfn: Any, definition: dict[str, Any], **extra: Any) -> str:
    created = call(
        sfn, "CreateStateMachine", name=unique(), definition=json.dumps(definition), roleArn=ROLE, **extra
    )
    return str(created["stateMachineArn"])


def pass_machine(result: Any) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


def wait_done(sfn: Any, execution_arn: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described = call(sfn, "DescribeExecution", executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"still running: {execution_arn}"
        time.sleep(0.05)


def history(sfn: Any, execution_arn: str, page_size: int, reverse: bool) -> tuple[list[dict[str, Any]], int]:
    events: list[dict[str, Any]] = []
    pages = 0
    token: dict[str, str] = {}
    while True:
        page = call(
            sfn,
            "GetExecutionHistory",
            executionArn=execution_arn,
            maxResults=page_size,
            reverseOrder=reverse,
            **token,
        )
        events += page["events"]
        pages += 1
        if "nextToken" not in page:
            return events, pages
        token = {"nextToken": page["nextToken"]}


def test_start_wait_describe_and_read_history_both_ways(sfn: Any) -> None:
    arn = machine(sfn, STEPS)
    started = call(sfn, "StartExecution", stateMachineArn=arn, name="first", input=json.dumps({"x": 0}))
    execution = started["executionArn"]
    assert execution == arn.replace(":stateMachine:", ":execution:") + ":first"
    done = wait_done(sfn, execution)
    assert (done["status"], done["name"], done["stateMachineArn"]) == ("SUCCEEDED", "first", arn)
    assert json.loads(done["output"]) == {"x": 0, "one": 1, "two": 2, "three": 3}
    assert (done["input"], done["inputDetails"], done["outputDetails"]) == (
        json.dumps({"x": 0}), {"included": True}, {"included": True},
    )  # fmt: skip
    assert "stateMachineVersionArn" not in done
    metadata = call(sfn, "DescribeExecution", executionArn=execution, includedData="METADATA_ONLY")
    assert "input" not in metadata and "output" not in metadata

    forward, pages = history(sfn, execution, 2, reverse=False)
    assert pages == 4
    assert [e["type"] for e in forward] == [
        "ExecutionStarted",
        "PassStateEntered", "PassStateExited",
        "PassStateEntered", "PassStateExited",
        "PassStateEntered", "PassStateExited",
        "ExecutionSucceeded",
    ]  # fmt: skip
    assert [e["id"] for e in forward] == list(range(1, 9))
    assert forward[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    assert json.loads(forward[-1]["executionSucceededEventDetails"]["output"])["three"] == 3
    backward, _ = history(sfn, execution, 3, reverse=True)
    assert backward == forward[::-1]
    everything = [
        e
        for p in sfn.get_paginator("get_execution_history").paginate(executionArn=execution)
        for e in p["events"]
    ]
    assert everything == forward
    bare = call(sfn, "GetExecutionHistory", executionArn=execution, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "output" not in bare[-1]["executionSucceededEventDetails"]

    definition = call(sfn, "DescribeStateMachineForExecution", executionArn=execution)
    assert (json.loads(definition["definition"]), definition["roleArn"]) == (STEPS, ROLE)
    call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(pass_machine("new")))
    assert (
        json.loads(call(sfn, "DescribeStateMachineForExecution", executionArn=execution)["definition"])
        == STEPS
    )


def test_list_executions_with_status_filter_and_paging(sfn: Any) -> None:
    arn = machine(sfn, pass_machine("done"))
    names = [f"run-{i}" for i in range(5)]
    for name in names:
        call(sfn, "StartExecution", stateMachineArn=arn, name=name)
    for name in names:
        wait_done(sfn, arn.replace(":stateMachine:", ":execution:") + f":{name}")
    listed: list[str] = []
    token: dict[str, str] = {}
    pages = 0
    while True:
        page = call(sfn, "ListExecutions", stateMachineArn=arn, maxResults=2, **token)
        listed += [e["name"] for e in page["executions"]]
        assert all(e["status"] == "SUCCEEDED" and e["stateMachineArn"] == arn for e in page["executions"])
        pages += 1
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert (sorted(listed), pages) == (names, 3)
    assert listed == [
        e["name"]
        for p in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn)
        for e in p["executions"]
    ]
    assert call(sfn, "ListExecutions", stateMachineArn=arn, statusFilter="RUNNING")["executions"] == []
    assert len(call(sfn, "ListExecutions", stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]) == 5


def test_start_is_idempotent_only_while_running(sfn: Any) -> None:
    arn = machine(sfn, WAIT)
    first = call(sfn, "StartExecution", stateMachineArn=arn, name="same", input="{}")
    again = call(sfn, "StartExecution", stateMachineArn=arn, name="same", input="{}")
    assert again == first
    with pytest.raises(ClientError) as other_input:
        sfn.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
    assert error_of(other_input) == (
        "ExecutionAlreadyExists",
        f"Execution Already Exists: '{first['executionArn']}'",
    )
    stopped = call(
        sfn, "StopExecution", executionArn=first["executionArn"], error="Stop.Test", cause="enough"
    )
    assert stopped["stopDate"]
    done = wait_done(sfn, first["executionArn"])
    assert (done["status"], done["error"], done["cause"]) == ("ABORTED", "Stop.Test", "enough")
    assert done["redriveStatus"] == "REDRIVABLE"  # an ABORTED Standard execution may be redriven
    events, _ = history(sfn, first["executionArn"], 100, reverse=False)
    assert events[-1]["type"] == "ExecutionAborted"
    with pytest.raises(ClientError) as ended:
        sfn.start_execution(stateMachineArn=arn, name="same", input="{}")
    assert error_of(ended)[0] == "ExecutionAlreadyExists"


def test_a_qualified_arn_starts_that_version(sfn: Any) -> None:
    arn = machine(sfn, pass_machine("one"), publish=True)
    call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(pass_machine("two")))
    by_version = call(sfn, "StartExecution", stateMachineArn=f"{arn}:1")["executionArn"]
    latest = call(sfn, "StartExecution", stateMachineArn=arn)["executionArn"]
    versioned, unversioned = wait_done(sfn, by_version), wait_done(sfn, latest)
    assert (json.loads(versioned["output"]), json.loads(unversioned["output"])) == ("one", "two")
    assert versioned["stateMachineVersionArn"] == f"{arn}:1"
    assert "stateMachineVersionArn" not in unversioned
    of_version = call(sfn, "ListExecutions", stateMachineArn=f"{arn}:1")["executions"]
    assert [e["executionArn"] for e in of_version] == [by_version]
    assert of_version[0]["stateMachineVersionArn"] == f"{arn}:1"
    assert len(call(sfn, "ListExecutions", stateMachineArn=arn)["executions"]) == 2
    with pytest.raises(ClientError) as unpublished:
        sfn.start_execution(stateMachineArn=f"{arn}:2")
    assert error_of(unpublished) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}:2'")


def test_start_sync_execution(sfn_sync: Any, sfn: Any) -> None:
    express = machine(sfn, STEPS, type="EXPRESS")
    result = call(sfn_sync, "StartSyncExecution", stateMachineArn=express, input=json.dumps({"x": 1}))
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"x": 1, "one": 1, "two": 2, "three": 3}
    assert result["input"] == json.dumps({"x": 1})
    failing = machine(
        sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}}, type="EXPRESS"
    )
    failed = call(sfn_sync, "StartSyncExecution", stateMachineArn=failing)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "E", "c")
    assert "output" not in failed
    standard = machine(sfn, STEPS)
    with pytest.raises(ClientError) as refused:
        sfn_sync.start_sync_execution(stateMachineArn=standard)
    assert error_of(refused) == (
        "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine",
    )  # fmt: skip


def test_a_qualified_arn_runs_that_version_synchronously(sfn_sync: Any, sfn: Any) -> None:
    arn = machine(sfn, pass_machine("one"), type="EXPRESS", publish=True)
    call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(pass_machine("two")))
    by_version = call(sfn_sync, "StartSyncExecution", stateMachineArn=f"{arn}:1")
    latest = call(sfn_sync, "StartSyncExecution", stateMachineArn=arn)
    assert (json.loads(by_version["output"]), json.loads(latest["output"])) == ("one", "two")
    with pytest.raises(ClientError) as unpublished:
        sfn_sync.start_sync_execution(stateMachineArn=f"{arn}:2")
    assert error_of(unpublished) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}:2'")


def test_boto3_sends_start_sync_execution_to_the_sync_host(sfn: Any) -> None:
    """What the docs say: with the host prefix on (boto3's default), botocore sends the request to
    ``sync-127.0.0.1``, a name that does not resolve; ``inject_host_prefix=False`` is the fix."""
    express = machine(sfn, STEPS, type="EXPRESS")
    with pytest.raises(EndpointConnectionError) as unreachable:
        sfn.start_sync_execution(stateMachineArn=express)
    assert "sync-127.0.0.1" in str(unreachable.value)


@pytest.mark.parametrize(
    ("operation", "params", "code", "message"),
    [
        (
            "start_execution",
            {"input": "{'a': 1}"},
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): "
            "was expecting double-quote to start field name'",
        ),
        (
            "start_execution",
            {"input": ""},
            "InvalidExecutionInput",
            "Invalid State Machine Execution Input: 'Invalid execution input.'",
        ),
        ("start_execution", {"name": "no spaces"}, "InvalidName", "Invalid Name: 'no spaces'"),
    ],
    ids=["input-not-json", "input-empty", "execution-name"],
)
def test_start_errors(sfn: Any, operation: str, params: dict[str, Any], code: str, message: str) -> None:
    arn = machine(sfn, STEPS)
    with pytest.raises(ClientError) as caught:
        getattr(sfn, operation)(stateMachineArn=arn, **params)
    assert error_of(caught) == (code, message)


def test_unknown_and_invalid_execution_arns(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:000000000000:execution:nope:nothing"
    for operation in (
        "describe_execution",
        "get_execution_history",
        "stop_execution",
        "describe_state_machine_for_execution",
    ):
        with pytest.raises(ClientError) as caught:
            getattr(sfn, operation)(executionArn=missing)
        assert error_of(caught) == ("ExecutionDoesNotExist", f"Execution Does Not Exist: '{missing}'")
        with pytest.raises(ClientError) as invalid:
            getattr(sfn, operation)(executionArn="invalid_state_machine_arn")
        assert error_of(invalid) == (
            "InvalidArn",
            "Invalid Arn: 'Invalid ARN prefix: invalid_state_machine_arn'",
        )
    gone = "arn:aws:states:us-east-1:000000000000:stateMachine:nope"
    with pytest.raises(ClientError) as no_machine:
        sfn.list_executions(stateMachineArn=gone)
    assert error_of(no_machine) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{gone}'")
    with pytest.raises(ClientError) as no_start:
        sfn.start_execution(stateMachineArn=gone)
    assert error_of(no_start) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{gone}'")
    with pytest.raises(ClientError) as bad_filter:
        sfn.list_executions(stateMachineArn=gone, statusFilter="succeeded")
    assert error_of(bad_filter)[0] == "ValidationException"
