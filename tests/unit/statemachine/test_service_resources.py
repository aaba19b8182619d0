"""Task resources calling services: which are read as calls, which validate, which AWS refuses."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine import diagnose, run_local, sdk_diagnostics
from statemachine.service_resources import (
    ServiceResource,
    request_response,
    resource_problem,
    service_resource,
)

STATES = "arn:aws:states:::"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (STATES + "aws-sdk:s3:getObject", ServiceResource("aws-sdk", "s3", "getObject")),
        (
            STATES + "aws-sdk:dynamodb:getItem.waitForTaskToken",
            ServiceResource("aws-sdk", "dynamodb", "getItem", ".waitForTaskToken"),
        ),
        (STATES + "dynamodb:putItem", ServiceResource("optimized", "dynamodb", "putItem")),
        (
            STATES + "sns:publish.waitForTaskToken",
            ServiceResource("optimized", "sns", "publish", ".waitForTaskToken"),
        ),
        (STATES + "http:invoke", ServiceResource("http", "http", "invoke")),
        ("arn:aws-us-gov:states:::sqs:sendMessage", ServiceResource("optimized", "sqs", "sendMessage")),
        (STATES + "lambda:invoke", None),
        (STATES + "states:startExecution.sync", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:f", None),
        ("arn:aws:states:us-east-1:000000000000:activity:a", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_service_resource_reads_the_call(resource: str, expected: ServiceResource | None) -> None:
    assert service_resource(resource) == expected


def test_only_request_response_runs_without_a_token_step() -> None:
    assert request_response(STATES + "sns:publish") == ServiceResource("optimized", "sns", "publish")
    assert request_response(STATES + "sns:publish.waitForTaskToken") is None


@pytest.mark.parametrize(
    "resource",
    [
        STATES + "aws-sdk:s3:listObjectsV2",
        STATES + "aws-sdk:sfn:startExecution.waitForTaskToken",
        STATES + "dynamodb:deleteItem",
        STATES + "events:putEvents.waitForTaskToken",
        STATES + "ecs:runTask.sync",
        STATES + "lambda:invoke.waitForTaskToken",
        STATES + "states:startExecution.sync:2",
        "arn:aws:lambda:us-east-1:000000000000:function:f",
    ],
)
def test_resources_aws_accepts_validate(resource: str) -> None:
    assert resource_problem(resource) is None


@pytest.mark.parametrize(
    "resource",
    [
        STATES + "foo:bar",
        STATES + "dynamodb:getItem.sync",
        STATES + "dynamodb:scan",
        STATES + "http:invoke.waitForTaskToken",
        STATES + "aws-sdk:s3:getObject.sync",
        STATES + "aws-sdk:s3",
        STATES + "aws-sdk:S3:GetObject",
    ],
)
def test_unknown_resources_and_patterns_are_refused_at_the_resource(resource: str) -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": resource, "End": True}}}
    [problem] = diagnose(definition)
    assert problem.location == "/States/A/Resource"
    assert problem.message == (
        f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
        "or the resource is not available in this region."
    )


async def test_a_service_task_without_integrations_fails_the_task_naming_the_service() -> None:
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": STATES + "dynamodb:putItem", "Parameters": {}, "End": True}
        },
    }
    run = await run_local(definition, {})
    assert (run.outcome.error, run.outcome.cause) == (
        "States.TaskFailed",
        "The service 'dynamodb' cannot be called here: this host has no service integrations",
    )
    assert [e.type for e in run.history][-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]


async def test_an_optimized_integration_stepline_does_not_run_names_the_aws_sdk_way() -> None:
    definition = {
        "StartAt": "Run",
        "States": {"Run": {"Type": "Task", "Resource": STATES + "ecs:runTask.sync", "End": True}},
    }
    run = await run_local(definition, {})
    assert run.outcome.error == "States.TaskFailed"
    assert "arn:aws:states:::aws-sdk:ecs:runTask" in (run.outcome.cause or "")


def test_aws_sdk_operations_a_catalog_does_not_know_are_refused_in_branches_and_processors() -> None:
    def task(resource: str) -> dict[str, Any]:
        return {"Type": "Task", "Resource": STATES + resource, "End": True}

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Typo", "States": {"Typo": task("aws-sdk:s3:getObjekt")}}],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Ok", "States": {"Ok": task("aws-sdk:s3:getObject")}},
                "Next": "Optimized",
            },
            "Optimized": task("dynamodb:getItem"),
        },
    }
    known = {("s3", "getObject")}
    [problem] = sdk_diagnostics(definition, lambda service, action: (service, action) in known)
    assert problem.location == "/States/P/Branches/0/States/Typo/Resource"
    assert "arn:aws:states:::aws-sdk:s3:getObjekt is not recognized" in problem.message
