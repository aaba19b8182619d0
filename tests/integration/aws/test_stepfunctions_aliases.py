"""State machine aliases through unmodified boto3: create (idempotent), describe, update, list,
delete; starting through an alias runs one of its versions by weight and DescribeExecution names
both; a version an alias routes to cannot be deleted."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.test_stepfunctions_executions import wait_done
from tests.integration.aws.test_stepfunctions_state_machines import ROLE, call, error_of, unique

pytestmark = pytest.mark.integration


def pass_machine(result: str) -> str:
    return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}})


def two_versions(sfn: Any) -> tuple[str, str, str]:
    """A machine with published versions 1 (``one``) and 2 (``two``): its ARN and theirs."""
    created = call(
        sfn, "CreateStateMachine", name=unique(), definition=pass_machine("one"), roleArn=ROLE, publish=True
    )
    arn = created["stateMachineArn"]
    v2 = call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=pass_machine("two"), publish=True)
    return arn, created["stateMachineVersionArn"], v2["stateMachineVersionArn"]


def test_alias_lifecycle(sfn: Any) -> None:
    arn, v1, v2 = two_versions(sfn)
    routing = [{"stateMachineVersionArn": v1, "weight": 100}]
    created = call(sfn, "CreateStateMachineAlias", name="prod", routingConfiguration=routing, description="d")
    alias = created["stateMachineAliasArn"]
    assert alias == f"{arn}:prod"
    again = call(sfn, "CreateStateMachineAlias", name="prod", routingConfiguration=routing, description="d")
    assert again == created  # the very same request: idempotent
    with pytest.raises(ClientError) as other:
        sfn.create_state_machine_alias(name="prod", routingConfiguration=routing, description="other")
    assert error_of(other)[0] == "ConflictException"

    described = call(sfn, "DescribeStateMachineAlias", stateMachineAliasArn=alias)
    assert (described["name"], described["description"], described["routingConfiguration"]) == (
        "prod", "d", routing,
    )  # fmt: skip
    split = [{"stateMachineVersionArn": v2, "weight": 90}, {"stateMachineVersionArn": v1, "weight": 10}]
    call(sfn, "UpdateStateMachineAlias", stateMachineAliasArn=alias, routingConfiguration=split)
    assert call(sfn, "DescribeStateMachineAlias", stateMachineAliasArn=alias)["routingConfiguration"] == split
    call(
        sfn,
        "CreateStateMachineAlias",
        name="beta",
        routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}],
    )
    listed = call(sfn, "ListStateMachineAliases", stateMachineArn=arn)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [f"{arn}:beta", alias]
    paged = call(sfn, "ListStateMachineAliases", stateMachineArn=arn, maxResults=1)
    assert [a["stateMachineAliasArn"] for a in paged["stateMachineAliases"]] == [f"{arn}:beta"]
    rest = call(sfn, "ListStateMachineAliases", stateMachineArn=arn, nextToken=paged["nextToken"])
    assert [a["stateMachineAliasArn"] for a in rest["stateMachineAliases"]] == [alias]

    with pytest.raises(ClientError) as in_use:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    code, message = error_of(in_use)
    assert code == "ConflictException" and "[prod]" in message
    call(sfn, "DeleteStateMachineAlias", stateMachineAliasArn=alias)
    call(sfn, "DeleteStateMachineVersion", stateMachineVersionArn=v1)  # no alias routes to it now
    with pytest.raises(ClientError) as gone:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert error_of(gone) == ("ResourceNotFound", f"Resource not found: '{alias}'")
    with pytest.raises(ClientError) as gone_again:
        sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    assert error_of(gone_again)[0] == "ResourceNotFound"


@pytest.mark.parametrize(
    ("routing", "code"),
    [
        ([("v1", 60), ("v2", 60)], "ValidationException"),  # weights do not add up to 100
        ([("v1", 50), ("v1", 50)], "ValidationException"),  # the same version twice
        ([("arn", 100)], "ValidationException"),  # not a version ARN
        ([("v9", 100)], "ResourceNotFound"),  # no such version
    ],
)
def test_routing_that_aws_refuses(sfn: Any, routing: list[tuple[str, int]], code: str) -> None:
    arn, v1, v2 = two_versions(sfn)
    names = {"v1": v1, "v2": v2, "arn": arn, "v9": f"{arn}:9"}
    config = [{"stateMachineVersionArn": names[v], "weight": w} for v, w in routing]
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine_alias(name="a", routingConfiguration=config)
    assert error_of(refused)[0] == code


def test_alias_names_aws_refuses(sfn: Any) -> None:
    _, v1, _ = two_versions(sfn)
    with pytest.raises(ClientError) as digits:
        sfn.create_state_machine_alias(
            name="123", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
        )
    code, message = error_of(digits)  # a version's number, not an alias: the model's pattern refuses it
    assert code == "ValidationException" and "name" in message


def test_starting_through_an_alias_splits_by_weight_and_records_the_version(sfn: Any) -> None:
    """200 starts through a 30/70 alias: the count of version 1 lies within 5 standard deviations
    of 60 (binomial: sigma = sqrt(200 * 0.3 * 0.7) = 6.5)."""
    arn, v1, v2 = two_versions(sfn)
    split = [{"stateMachineVersionArn": v1, "weight": 30}, {"stateMachineVersionArn": v2, "weight": 70}]
    alias = call(sfn, "CreateStateMachineAlias", name="split", routingConfiguration=split)[
        "stateMachineAliasArn"
    ]
    starts = 200
    with ThreadPoolExecutor(8) as callers:  # 8 clients at a time: the same 200 starts, checked alike
        started = list(
            callers.map(
                lambda _: call(sfn, "StartExecution", stateMachineArn=alias)["executionArn"], range(starts)
            )
        )
        done = list(callers.map(lambda execution: wait_done(sfn, execution), started))
    versions: dict[str, int] = {v1: 0, v2: 0}
    for described in done:
        assert described["stateMachineAliasArn"] == alias
        versions[described["stateMachineVersionArn"]] += 1
        expected = "one" if described["stateMachineVersionArn"] == v1 else "two"
        assert json.loads(described["output"]) == expected  # the chosen version ran
    sigma = math.sqrt(starts * 0.3 * 0.7)
    assert abs(versions[v1] - starts * 0.3) <= 5 * sigma, versions
    listed = call(sfn, "ListExecutions", stateMachineArn=alias, maxResults=1000)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted(started)
    assert all(e["stateMachineAliasArn"] == alias for e in listed)
    plain = call(sfn, "StartExecution", stateMachineArn=arn)["executionArn"]
    assert "stateMachineAliasArn" not in wait_done(sfn, plain)
    with pytest.raises(ClientError) as unknown:
        sfn.start_execution(stateMachineArn=f"{arn}:nope")
    assert error_of(unknown)[0] == "StateMachineDoesNotExist"
