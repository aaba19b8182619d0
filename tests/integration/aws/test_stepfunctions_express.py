"""Express semantics through unmodified boto3 (and ``/v1``): asynchronous Express executions (an
Express ARN, run by the worker, kept nowhere: Describe/History/Stop answer InvalidArn, ListExecutions
StateMachineTypeNotSupported, as AWS recorded them), and execution logging (``loggingConfiguration``
checked, kept and described; log events filtered by level, with or without execution data, read from
``GET /v1/execution-logs``)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import client
from tests.integration.aws.lambda_kit import create, lam, unique  # noqa: F401  (the lam fixture)
from tests.integration.aws.test_stepfunctions_executions import call, error_of, wait_done
from tests.integration.function_kit import requires_bwrap

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/{}:*"
PASS_THEN_FAIL = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Next": "F"},
        "F": {"Type": "Fail", "Error": "Oops", "Cause": "on purpose"},
    },
}
WHO_AM_I = {
    "StartAt": "Who",
    "States": {"Who": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "n.$": "$.n"}, "End": True}},
}
EXPRESS_ARN = re.compile(
    r"arn:aws:states:us-east-1:\d{12}:express:(?P<machine>[\w-]+):(?P<name>[\w-]+):[0-9a-f-]{36}"
)
NOT_IN_CONTEXT = ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")


@pytest.fixture(scope="module")
def v1(aws_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=aws_url, timeout=30) as http:
        yield http


def logging(level: str, group: str | None, include: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {"level": level, "includeExecutionData": include}
    if group is not None:
        config["destinations"] = [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN.format(group)}}]
    return config


def express(sfn: Any, definition: dict[str, Any], config: dict[str, Any] | None = None, **extra: Any) -> str:
    params: dict[str, Any] = {"loggingConfiguration": config} if config else {}
    created = call(
        sfn, "CreateStateMachine", name=unique("x"), definition=json.dumps(definition), roleArn=ROLE,
        type="EXPRESS", **params, **extra,
    )  # fmt: skip
    return str(created["stateMachineArn"])


def log_events(
    v1: httpx.Client, until: str | None = None, seconds: float = 20, **query: str
) -> list[dict[str, Any]]:
    """The log events' messages (``until``: waiting for an event of that type)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = v1.get("/v1/execution-logs", params={**query, "limit": 1000})
        assert answer.status_code == 200, answer.text
        messages = [e["message"] for e in answer.json()["events"]]
        if until is None or any(m["type"] == until for m in messages):
            return messages
        assert time.monotonic() < deadline, f"no {until} in {messages}"
        time.sleep(0.05)


def test_async_express_runs_with_an_express_arn_and_logs_its_events(sfn: Any, v1: httpx.Client) -> None:
    group = unique("g")
    arn = express(sfn, WHO_AM_I, logging("ALL", group))
    started = call(sfn, "StartExecution", stateMachineArn=arn, name="first", input=json.dumps({"n": 7}))
    found = EXPRESS_ARN.fullmatch(started["executionArn"])
    assert found is not None, started["executionArn"]
    assert (found["machine"], found["name"]) == (arn.rsplit(":", 1)[-1], "first")
    again = call(sfn, "StartExecution", stateMachineArn=arn, name="first", input=json.dumps({"n": 8}))
    assert again["executionArn"] != started["executionArn"]  # Express names are not unique
    events = log_events(v1, "ExecutionSucceeded", executionArn=started["executionArn"])
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    last = events[-1]
    assert json.loads(last["details"]["output"]) == {"id": started["executionArn"], "n": 7}  # $$.Execution.Id
    assert (last["id"], last["previous_event_id"], last["execution_arn"]) == (
        "4",
        "3",
        started["executionArn"],
    )
    assert last["event_timestamp"].isdigit() and last["redrive_count"] == "0"
    by_group = log_events(v1, "ExecutionSucceeded", logGroup=f"/aws/vendedlogs/states/{group}")
    assert {e["execution_arn"] for e in by_group} <= {started["executionArn"], again["executionArn"]}


@requires_bwrap
def test_an_async_express_task_invokes_a_function(sfn: Any, lam: Any, v1: httpx.Client) -> None:  # noqa: F811
    function = unique("fn")
    create(lam, function)
    resource = f"arn:aws:lambda:us-east-1:000000000000:function:{function}"
    task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    arn = express(sfn, task, logging("ALL", unique("g")))
    started = call(sfn, "StartExecution", stateMachineArn=arn, input=json.dumps({"marker": "side-effect"}))
    events = log_events(v1, "ExecutionSucceeded", seconds=60, executionArn=started["executionArn"])
    assert json.loads(events[-1]["details"]["output"]) == {"echo": {"marker": "side-effect"}}
    printed = v1.get(f"/v1/functions/{function}/logs", params={"limit": 50}).json()
    assert any("side-effect" in str(line) for line in printed["events"]), printed  # the function ran


def test_express_executions_are_not_kept(sfn: Any) -> None:
    arn = express(sfn, WHO_AM_I)
    execution = call(sfn, "StartExecution", stateMachineArn=arn, input=json.dumps({"n": 1}))["executionArn"]
    for operation in (sfn.describe_execution, sfn.get_execution_history, sfn.stop_execution):
        with pytest.raises(ClientError) as refused:
            operation(executionArn=execution)
        assert error_of(refused) == NOT_IN_CONTEXT
    with pytest.raises(ClientError) as listing:
        sfn.list_executions(stateMachineArn=arn)
    assert error_of(listing) == (
        "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine"
    )  # fmt: skip


def test_sync_express_arns_have_the_express_form(sfn: Any, sfn_sync: Any) -> None:
    arn = express(sfn, WHO_AM_I)
    result = call(sfn_sync, "StartSyncExecution", stateMachineArn=arn, input=json.dumps({"n": 2}))
    found = EXPRESS_ARN.fullmatch(result["executionArn"])
    assert found is not None and found["name"] == result["name"], result["executionArn"]
    assert json.loads(result["output"])["id"] == result["executionArn"]
    billed = result["billingDetails"]  # as AWS reports it: 100 ms steps, 64 MB
    assert billed["billedDurationInMilliseconds"] % 100 == 0 and billed["billedDurationInMilliseconds"] >= 100
    assert billed["billedMemoryUsedInMB"] == 64


@pytest.mark.parametrize(
    ("level", "types"),
    [
        (
            "ALL",
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "FailStateEntered",
                "ExecutionFailed",
            ],
        ),
        ("ERROR", ["FailStateEntered", "ExecutionFailed"]),
        ("FATAL", ["ExecutionFailed"]),
        ("OFF", []),
    ],
    ids=["all", "error", "fatal", "off"],
)
def test_levels_filter_the_logged_events(
    sfn: Any, sfn_sync: Any, v1: httpx.Client, level: str, types: list[str]
) -> None:
    arn = express(sfn, PASS_THEN_FAIL, logging(level, unique("g") if level != "OFF" else None))
    result = call(sfn_sync, "StartSyncExecution", stateMachineArn=arn)
    assert result["status"] == "FAILED"
    events = log_events(v1, types[-1] if types else None, executionArn=result["executionArn"])
    if not types:
        time.sleep(0.5)  # (batches are written every 0.2 s)
        events = log_events(v1, executionArn=result["executionArn"])
    assert [e["type"] for e in events] == types
    if types:
        assert events[-1]["details"] == {"error": "Oops", "cause": "on purpose"}


def test_include_execution_data_false_leaves_input_and_output_out(
    sfn: Any, sfn_sync: Any, v1: httpx.Client
) -> None:
    secret = {"n": "do-not-log-me"}
    without = express(sfn, WHO_AM_I, logging("ALL", unique("g"), include=False))
    withdata = express(sfn, WHO_AM_I, logging("ALL", unique("g"), include=True))
    hidden = call(sfn_sync, "StartSyncExecution", stateMachineArn=without, input=json.dumps(secret))
    shown = call(sfn_sync, "StartSyncExecution", stateMachineArn=withdata, input=json.dumps(secret))
    hidden_events = log_events(v1, "ExecutionSucceeded", executionArn=hidden["executionArn"])
    shown_events = log_events(v1, "ExecutionSucceeded", executionArn=shown["executionArn"])
    assert "do-not-log-me" not in json.dumps(hidden_events)
    assert hidden_events[0]["details"] == {"roleArn": ROLE}
    assert json.loads(shown_events[0]["details"]["input"]) == secret
    assert shown_events[0]["details"]["inputDetails"] == {"truncated": False}


def test_a_standard_execution_logs_when_it_ends(sfn: Any, v1: httpx.Client) -> None:
    created = call(
        sfn, "CreateStateMachine", name=unique("s"), definition=json.dumps(PASS_THEN_FAIL), roleArn=ROLE,
        loggingConfiguration=logging("ERROR", unique("g")),
    )  # fmt: skip
    execution = call(sfn, "StartExecution", stateMachineArn=created["stateMachineArn"])["executionArn"]
    assert wait_done(sfn, execution)["status"] == "FAILED"
    events = log_events(v1, "ExecutionFailed", executionArn=execution)
    assert [e["type"] for e in events] == ["FailStateEntered", "ExecutionFailed"]


def test_logging_configuration_is_kept_described_and_updated(sfn: Any) -> None:
    group = unique("g")
    arn = express(sfn, WHO_AM_I, logging("ERROR", group, include=False))
    described = call(sfn, "DescribeStateMachine", stateMachineArn=arn)
    assert described["loggingConfiguration"] == logging("ERROR", group, include=False)
    call(sfn, "UpdateStateMachine", stateMachineArn=arn, loggingConfiguration={"level": "OFF"})
    after = call(sfn, "DescribeStateMachine", stateMachineArn=arn)
    assert after["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    assert after.get("revisionId") == described.get("revisionId")  # no new revision for logging alone


ONE_DESTINATION = "Invalid Logging Configuration: Must specify exactly one Log Destination."


@pytest.mark.parametrize(
    ("config", "code", "words"),
    [
        ({"level": "ALL"}, "InvalidLoggingConfiguration", ONE_DESTINATION),
        (
            {**logging("ALL", "a"), "destinations": logging("ALL", "a")["destinations"] * 2},
            "InvalidLoggingConfiguration",
            ONE_DESTINATION,
        ),
        (
            {
                "level": "ALL",
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:s3:::bucket"}}],
            },
            "InvalidLoggingConfiguration",
            "logGroupArn",
        ),
        ({"level": "ALL", "destinations": [{}]}, "InvalidLoggingConfiguration", "Log Destination not found"),
        ({"level": "LOUD"}, "ValidationException", "loggingConfiguration.level"),
    ],
    ids=["no-destination", "two-destinations", "not-a-log-group", "empty-destination", "unknown-level"],
)
def test_invalid_logging_configurations_are_refused(
    sfn: Any, config: dict[str, Any], code: str, words: str
) -> None:
    name = unique("bad")
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(
            name=name,
            definition=json.dumps(WHO_AM_I),
            roleArn=ROLE,
            type="EXPRESS",
            loggingConfiguration=config,
        )
    found_code, message = error_of(refused)
    assert found_code == code and words in message, message
    with pytest.raises(ClientError) as missing:  # nothing was created
        sfn.describe_state_machine(
            stateMachineArn=f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"
        )
    assert error_of(missing)[0] == "StateMachineDoesNotExist"


def test_v1_starts_async_express_and_configures_logging(sfn: Any, v1: httpx.Client) -> None:
    arn = express(sfn, WHO_AM_I)
    name = arn.rsplit(":", 1)[-1]
    url = f"/v1/state-machines/{name}/logging-configuration"
    assert v1.get(url).json() == {"level": "OFF", "includeExecutionData": False}
    refused = v1.put(url, json={"level": "ALL"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["location"] == "/loggingConfiguration/destinations"
    group = unique("g")
    assert v1.put(url, json=logging("FATAL", group)).json() == logging("FATAL", group)
    assert v1.put("/v1/state-machines/nope-none/logging-configuration", json={}).status_code == 404
    started = v1.post(f"/v1/state-machines/{name}/executions", json={"input": {"n": 3}})
    assert started.status_code == 201, started.text
    assert EXPRESS_ARN.fullmatch(started.json()["executionArn"]) is not None
    described = v1.get(f"/v1/executions/{started.json()['executionArn']}")
    assert described.status_code == 404 and "/v1/execution-logs" in described.json()["detail"]
    assert v1.get("/v1/execution-logs", params={"limit": 0}).status_code in (400, 422)
    assert v1.get("/v1/execution-logs", params={"nextToken": "not-a-token"}).status_code == 400


def test_an_event_rule_starts_an_express_machine_asynchronously(
    aws_url: str, sfn: Any, v1: httpx.Client
) -> None:
    events = client(aws_url, "events")
    arn = express(sfn, WHO_AM_I, logging("ALL", unique("g")))
    rule = unique("to-express")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["express-test"]}))
    targets = events.put_targets(Rule=rule, Targets=[{"Id": "x", "Arn": arn, "InputPath": "$.detail"}])
    assert targets["FailedEntryCount"] == 0
    put = events.put_events(Entries=[{"Source": "express-test", "DetailType": "t", "Detail": '{"n": 5}'}])
    assert put["FailedEntryCount"] == 0
    name = arn.rsplit(":", 1)[-1]
    found = log_events(v1, "ExecutionSucceeded", stateMachine=name)
    output = json.loads(next(e for e in found if e["type"] == "ExecutionSucceeded")["details"]["output"])
    assert output["n"] == 5 and EXPRESS_ARN.fullmatch(output["id"]) is not None


def test_creating_again_with_another_logging_configuration_is_refused(sfn: Any) -> None:
    """CreateStateMachine's idempotency covers loggingConfiguration (AWS): the same request returns the
    machine, another configuration is StateMachineAlreadyExists."""
    name, group = unique("idem"), unique("g")
    same: dict[str, Any] = {
        "name": name, "definition": json.dumps(WHO_AM_I), "roleArn": ROLE, "type": "EXPRESS",
        "loggingConfiguration": logging("ALL", group),
    }  # fmt: skip
    first = call(sfn, "CreateStateMachine", **same)
    assert call(sfn, "CreateStateMachine", **same)["stateMachineArn"] == first["stateMachineArn"]
    for other in (logging("ERROR", group), None):
        params = (
            {**same, "loggingConfiguration": other}
            if other
            else {k: v for k, v in same.items() if k != "loggingConfiguration"}
        )
        with pytest.raises(ClientError) as refused:
            sfn.create_state_machine(**params)
        assert error_of(refused)[0] == "StateMachineAlreadyExists"
    described = call(sfn, "DescribeStateMachine", stateMachineArn=first["stateMachineArn"])
    assert described["loggingConfiguration"] == logging("ALL", group)


def test_a_log_group_can_be_emptied(sfn: Any, sfn_sync: Any, v1: httpx.Client) -> None:
    group = unique("g")
    arn = express(sfn, WHO_AM_I, logging("FATAL", group))
    kept = express(sfn, WHO_AM_I, logging("ALL", unique("g")))
    failing = express(sfn, PASS_THEN_FAIL, logging("FATAL", group))
    call(sfn_sync, "StartSyncExecution", stateMachineArn=failing)
    other = call(sfn_sync, "StartSyncExecution", stateMachineArn=kept, input=json.dumps({"n": 1}))
    name = f"/aws/vendedlogs/states/{group}"
    assert [e["type"] for e in log_events(v1, "ExecutionFailed", logGroup=name)] == ["ExecutionFailed"]
    assert arn  # (a machine of the group that logged nothing: FATAL, and it never ran)
    deleted = v1.request("DELETE", "/v1/execution-logs", params={"logGroup": name})
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}, deleted.text
    assert log_events(v1, logGroup=name) == []
    assert log_events(v1, "ExecutionSucceeded", executionArn=other["executionArn"])  # other groups stay
    assert v1.request("DELETE", "/v1/execution-logs").status_code in (400, 422)


def test_v1_creates_a_machine_with_its_logging_configuration(v1: httpx.Client) -> None:
    name, group = unique("v1"), unique("g")
    body = {
        "name": name,
        "type": "EXPRESS",
        "definition": WHO_AM_I,
        "loggingConfiguration": logging("ALL", group),
    }
    assert v1.post("/v1/state-machines", json=body).status_code == 201
    assert v1.get(f"/v1/state-machines/{name}/logging-configuration").json() == logging("ALL", group)
    refused = v1.post(
        "/v1/state-machines", json={**body, "name": unique("v1"), "loggingConfiguration": {"level": "ERROR"}}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["code"] == "InvalidLoggingConfiguration"
