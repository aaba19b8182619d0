"""EventBridge's buses, rules, targets and PutEvents through an unmodified boto3 ``events`` client:
events matching a rule's pattern reach a state machine (an execution named after the delivery, its
input made by an input transformer) and a function (an Event invocation with the event), a disabled
rule and a non-matching event deliver nothing, bad input answers EventBridge's errors, and a target's
RetryPolicy and DeadLetterConfig dead-letter an event whose target is gone."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from sqlmodel import col, select

from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.registry.functions import FunctionEvent
from tests.integration.aws.conftest import client, refused
from tests.integration.aws.lambda_kit import create, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

ROLE = "arn:aws:iam::000000000000:role/sfn"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def events(aws_url: str) -> Any:
    return client(aws_url, "events")


def _executions(sfn: Any, machine_arn: str, count: int, seconds: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        found = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
        if len(found) >= count or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.2)


def test_matching_events_reach_a_state_machine_through_an_input_transformer(events: Any, sfn: Any) -> None:
    machine = sfn.create_state_machine(
        name=unique("rule-target"),
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    bus = unique("orders")
    assert events.create_event_bus(Name=bus)["EventBusArn"].endswith(f":event-bus/{bus}")
    rule = unique("big-orders")
    pattern = {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}
    arn = events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"]
    assert arn.endswith(f":rule/{bus}/{rule}")
    answer = events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[
            {
                "Id": "machine",
                "Arn": machine,
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.id", "total": "$.detail.total"},
                    "InputTemplate": '{"order": <order>, "total": <total>, "note": "order <order>"}',
                },
            }
        ],
    )
    assert answer["FailedEntryCount"] == 0
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]] == [
        "machine"
    ]
    put = events.put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": json.dumps({"id": "A1", "total": 250}),
                "EventBusName": bus,
            },
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": json.dumps({"id": "A2", "total": 5}),
                "EventBusName": bus,
            },
            {"Source": "shop", "DetailType": "Order", "Detail": "not json", "EventBusName": bus},
        ]
    )
    assert put["FailedEntryCount"] == 1
    assert put["Entries"][2]["ErrorCode"] == "MalformedDetail"
    assert all("EventId" in e for e in put["Entries"][:2])
    executions = _executions(sfn, machine, 1)
    assert len(executions) == 1
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"order": "A1", "total": 250, "note": "order A1"}
    # Disabled, the rule delivers nothing more.
    events.disable_rule(Name=rule, EventBusName=bus)
    assert events.describe_rule(Name=rule, EventBusName=bus)["State"] == "DISABLED"
    events.put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "Order",
                "Detail": '{"id": "A3", "total": 900}',
                "EventBusName": bus,
            }
        ]
    )
    time.sleep(2)
    assert len(_executions(sfn, machine, 2, seconds=0)) == 1
    assert refused(events.delete_rule, Name=rule, EventBusName=bus)[0] == "ValidationException"
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["machine"])
    events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
    assert bus not in [b["Name"] for b in events.list_event_buses()["EventBuses"]]


def test_the_default_bus_queues_an_event_invocation_of_a_function(
    events: Any, lam: Any, database_url: str
) -> None:
    name = unique("rule-fn")
    function_arn = create(lam, name)["FunctionArn"]
    rule = unique("fn-rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"detail-type": [{"prefix": "Ping"}]}))
    assert events.put_targets(Rule=rule, Targets=[{"Id": "f", "Arn": function_arn}])["FailedEntryCount"] == 0
    assert [r["Name"] for r in events.list_rules(NamePrefix=rule)["Rules"]] == [rule]
    events.put_events(Entries=[{"Source": "me", "DetailType": "Pong", "Detail": "{}"}])
    events.put_events(Entries=[{"Source": "me", "DetailType": "Ping one", "Detail": '{"n": 1}'}])
    deadline = time.monotonic() + 30
    payloads: list[dict[str, Any]] = []
    while not payloads and time.monotonic() < deadline:
        time.sleep(0.3)
        payloads = asyncio.run(_queued_payloads(database_url, name))
    assert len(payloads) == 1
    (found,) = payloads
    assert found["detail-type"] == "Ping one" and found["detail"] == {"n": 1}
    assert found["source"] == "me" and found["account"] == "000000000000"


async def _queued_payloads(database_url: str, function: str) -> list[dict[str, Any]]:
    """The payloads of the Event invocations queued for ``function`` (whatever became of them)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(session_maker(engine)) as session:
            query = select(FunctionEvent).where(col(FunctionEvent.function_name) == function)
            return [json.loads(e.payload) for e in (await session.exec(query)).all()]
    finally:
        await engine.dispose()


def test_bad_requests_answer_eventbridge_errors(events: Any, sfn: Any) -> None:
    code, message = refused(events.put_rule, Name=unique("bad"), EventPattern='{"source": "aws.ec2"}')
    assert code == "InvalidEventPatternException"
    assert "source must be an object or an array" in message
    code, _ = refused(events.put_rule, Name=unique("bad"), EventPattern='{"a": [{"numeric": [">", "x"]}]}')
    assert code == "InvalidEventPatternException"
    assert (
        refused(
            events.put_targets,
            Rule="no-such-rule",
            Targets=[{"Id": "x", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:x"}],
        )[0]
        == "ResourceNotFoundException"
    )
    assert (
        refused(events.put_rule, Name="r", EventBusName="no-such-bus", EventPattern='{"a": ["b"]}')[0]
        == "ResourceNotFoundException"
    )
    rule = unique("targets")
    events.put_rule(Name=rule, EventPattern='{"a": ["b"]}')
    failed = events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "missing", "Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope"},
            {
                "Id": "both",
                "Arn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope",
                "Input": "{}",
                "InputPath": "$.a",
            },
            {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"},
            {
                "Id": "sqs",
                "Arn": "arn:aws:sqs:us-east-1:000000000000:q",
                "SqsParameters": {"MessageGroupId": "g"},
            },
        ],
    )
    assert failed["FailedEntryCount"] == 4
    assert failed["FailedEntries"][0] == {
        "TargetId": "sqs",
        "ErrorCode": "ValidationException",
        "ErrorMessage": "SqsParameters not supported",
    }
    assert "does not exist" in failed["FailedEntries"][1]["ErrorMessage"]
    assert "Only one of" in failed["FailedEntries"][2]["ErrorMessage"]
    assert refused(events.delete_event_bus, Name="default")[0] == "ValidationException"
    assert refused(events.create_event_bus, Name="default")[0] == "ResourceAlreadyExistsException"


def test_an_execution_status_change_chains_another_state_machine(events: Any, sfn: Any) -> None:
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    first = sfn.create_state_machine(name=unique("first"), definition=definition, roleArn=ROLE)
    second = sfn.create_state_machine(name=unique("second"), definition=definition, roleArn=ROLE)
    rule = unique("chain")
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [first["stateMachineArn"]]},
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    transformer = {
        "InputPathsMap": {"name": "$.detail.name", "status": "$.detail.status"},
        "InputTemplate": '{"after": <name>, "status": <status>}',
    }
    target = {"Id": "next", "Arn": second["stateMachineArn"], "InputTransformer": transformer}
    assert events.put_targets(Rule=rule, Targets=[target])["FailedEntryCount"] == 0
    sfn.start_execution(stateMachineArn=first["stateMachineArn"], name="one", input="{}")
    (chained,) = _executions(sfn, second["stateMachineArn"], 1)
    described = sfn.describe_execution(executionArn=chained["executionArn"])
    assert json.loads(described["input"]) == {"after": "one", "status": "SUCCEEDED"}
    # The chained execution's own status change matches nothing (another state machine).
    time.sleep(1)
    assert len(_executions(sfn, second["stateMachineArn"], 2, seconds=0)) == 1
    events.remove_targets(Rule=rule, Ids=["next"])
    events.delete_rule(Name=rule)


def test_an_event_invocation_outcome_reaches_a_rule_through_an_event_bus_destination(
    events: Any, lam: Any, sfn: Any
) -> None:
    name = unique("outcome-fn")
    function_arn = create(lam, name)["FunctionArn"]
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    lam.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": bus_arn}}
    )
    machine = sfn.create_state_machine(
        name=unique("after-fn"),
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    rule = unique("outcome")
    pattern = {
        "source": ["lambda"],
        "detail-type": ["Lambda Function Invocation Result - Success"],
        "resources": [{"prefix": function_arn + ":"}],
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=rule, Targets=[{"Id": "m", "Arn": machine, "InputPath": "$.detail.responsePayload"}]
    )
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"hello": "bus"}')
    (execution,) = _executions(sfn, machine, 1, seconds=60)
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"echo": {"hello": "bus"}}
    missing = bus_arn.replace("event-bus/default", "event-bus/" + unique("nope"))
    with pytest.raises(ClientError) as failed:
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnFailure": {"Destination": missing}}
        )
    assert "does not exist" in failed.value.response["Error"]["Message"]


@pytest.mark.parametrize("time_value", ["not a time", 1e300, "2026-13-01T00:00:00"])
def test_a_bad_event_time_on_the_wire_is_a_validation_error(aws_url: str, time_value: Any) -> None:
    entry = {"Source": "s", "DetailType": "d", "Detail": "{}", "Time": time_value}
    answer = httpx.post(
        aws_url,
        content=json.dumps({"Entries": [entry]}),
        headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert 400 <= answer.status_code < 500, answer.text


def test_a_rule_target_that_is_gone_is_dead_lettered_per_its_policy(
    events: Any, sfn: Any, lam: Any, database_url: str
) -> None:
    """RetryPolicy and DeadLetterConfig: kept and listed, checked, and a target gone by the time an
    event matches is given up per policy, its dead letter reaching the dead-letter function with
    EventBridge's error attributes."""
    machine = sfn.create_state_machine(name=unique("gone"), definition=PASS, roleArn=ROLE)["stateMachineArn"]
    dead = unique("dead-letters")
    dead_arn = create(lam, dead)["FunctionArn"]
    rule = unique("doomed")
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["dlq-test"]}))["RuleArn"]
    target = {
        "Id": "m", "Arn": machine, "RoleArn": ROLE,
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 600},
        "DeadLetterConfig": {"Arn": dead_arn},
    }  # fmt: skip
    missing = {**target, "Id": "d", "DeadLetterConfig": {"Arn": dead_arn + "-nope"}}
    answer = events.put_targets(Rule=rule, Targets=[target, missing])
    assert [e["TargetId"] for e in answer["FailedEntries"]] == ["d"]
    assert "does not exist" in answer["FailedEntries"][0]["ErrorMessage"]
    too_many = {**target, "Id": "r", "RetryPolicy": {"MaximumRetryAttempts": 186}}
    assert refused(events.put_targets, Rule=rule, Targets=[too_many])[0] == "ValidationException"
    (listed,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert listed["RetryPolicy"] == target["RetryPolicy"] and listed["DeadLetterConfig"] == {"Arn": dead_arn}
    sfn.delete_state_machine(stateMachineArn=machine)
    events.put_events(Entries=[{"Source": "dlq-test", "DetailType": "T", "Detail": '{"n": 1}'}])
    deadline = time.monotonic() + 30
    letters: list[dict[str, Any]] = []
    while not letters and time.monotonic() < deadline:
        time.sleep(0.3)
        letters = asyncio.run(_queued_payloads(database_url, dead))
    events.remove_targets(Rule=rule, Ids=["m"])
    events.delete_rule(Name=rule)
    (letter,) = letters
    (record,) = letter["Records"]
    attributes = {k: v["stringValue"] for k, v in record["messageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "StateMachineDoesNotExist"
    assert attributes["RULE_ARN"] == rule_arn and attributes["TARGET_ARN"] == machine
    assert (attributes["EXHAUSTED_RETRY_CONDITION"], attributes["RETRY_ATTEMPTS"]) == (
        "MaximumRetryAttempts",
        "0",
    )
    assert json.loads(record["body"])["detail"] == {"n": 1}
