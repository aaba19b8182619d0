"""A rule target's RetryPolicy and DeadLetterConfig through an unmodified boto3 ``events`` client: kept
and listed, checked (ranges, a dead-letter target that does not exist), and a target that is gone by
the time an event matches is given up per policy and its dead letter reaches the dead-letter function
with EventBridge's error attributes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import client
from tests.integration.aws.lambda_kit import create, lam, unique
from tests.integration.aws.test_events_rules import _queued_payloads
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

ROLE = "arn:aws:iam::000000000000:role/events"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def test_a_rule_target_that_is_gone_is_dead_lettered_per_its_policy(
    aws_url: str, sfn: Any, lam: Any, database_url: str
) -> None:
    events = client(aws_url, "events")
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
    with pytest.raises(ClientError) as refused:
        events.put_targets(Rule=rule, Targets=[too_many])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
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
