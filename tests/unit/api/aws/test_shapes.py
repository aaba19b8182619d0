"""Requests checked and responses shaped by botocore's models (``api.aws.shapes``), with AWS's words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from api.aws.errors import AwsError
from api.aws.models import operation_model
from api.aws.shapes import check_input, epoch_seconds, shape_output

ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:m"


def check(operation: str, params: dict[str, Any]) -> None:
    shape = operation_model("stepfunctions", operation).input_shape
    check_input(shape)(params)


def refused(operation: str, params: dict[str, Any]) -> AwsError:
    with pytest.raises(AwsError) as caught:
        check(operation, params)
    return caught.value


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "ListStateMachines",
            {"maxResults": 1001},
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000",
        ),
        (
            "ListExecutions",
            {"stateMachineArn": ARN, "statusFilter": "succeeded"},
            "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: "
            "Member must satisfy enum value set: "
            "[RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]",
        ),
        (
            "ListStateMachines",
            {"nextToken": "x" * 1025},
            f"1 validation error detected: Value '{'x' * 256}...' at 'nextToken' failed to satisfy "
            "constraint: Member must have length less than or equal to 1024",
        ),
        (
            "DescribeStateMachine",
            {},
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            "StartExecution",
            {"stateMachineArn": ARN, "input": "x" * (256 * 1024 + 1)},
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            "Member must have length less than or equal to 262144",
        ),
        (
            "StartExecution",
            {"stateMachineArn": ARN, "traceHeader": "caf\u00e9"},
            "1 validation error detected: Value 'caf\u00e9' at 'traceHeader' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: \\p{ASCII}*",
        ),
        (
            "TagResource",
            {"resourceArn": ARN, "tags": [{"key": "", "value": "v"}]},
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1",
        ),
    ],
    ids=[
        "range",
        "enum",
        "length-and-long-value-cut",
        "required",
        "sensitive-value-hidden",
        "pattern",
        "nested",
    ],
)
def test_constraint_problems_in_aws_words(operation: str, params: dict[str, Any], message: str) -> None:
    error = refused(operation, params)
    assert (error.code, error.message, error.status) == ("ValidationException", message, 400)


def test_every_problem_is_reported_at_once() -> None:
    error = refused("CreateStateMachine", {"name": "", "definition": "{}"})
    assert error.message.startswith("2 validation errors detected: ")
    assert "at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1" in (
        error.message
    )
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in error.message


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"maxResults": "10"}, "'maxResults' must be an integer, not a string"),
        ({"maxResults": True}, "'maxResults' must be an integer, not a boolean"),
        ({"maxResults": 1.5}, "'maxResults' must be an integer, not a number"),
        ({"nextToken": 7}, "'nextToken' must be a string, not a number"),
    ],
    ids=["string-for-int", "bool-for-int", "float-for-int", "number-for-string"],
)
def test_wrong_json_types_are_serialization_exceptions(params: dict[str, Any], where: str) -> None:
    error = refused("ListStateMachines", params)
    assert (error.code, error.message) == ("SerializationException", where)


def test_wrong_container_types_are_serialization_exceptions() -> None:
    error = refused("TagResource", {"resourceArn": ARN, "tags": {"key": "k"}})
    assert (error.code, error.message) == ("SerializationException", "'tags' must be a list, not an object")


def test_valid_requests_pass_and_unknown_members_and_nulls_are_ignored() -> None:
    check("ListStateMachines", {"maxResults": 0, "somethingNew": {"x": 1}, "nextToken": None})
    check(
        "CreateStateMachine",
        {"name": "m", "definition": "{}", "roleArn": "r", "type": "EXPRESS", "tags": [{"key": "k"}]},
    )


def test_output_drops_unknown_members_and_nulls_and_sends_timestamps_as_epoch_seconds() -> None:
    shape = operation_model("stepfunctions", "CreateStateMachine").output_shape
    created = datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    out = shape_output(shape)(
        {"stateMachineArn": ARN, "creationDate": created, "stateMachineVersionArn": None, "extra": 1}
    )
    assert out == {"stateMachineArn": ARN, "creationDate": 1704067200.123}


def test_output_walks_lists_of_structures_down_to_what_converts() -> None:
    """Events (they hold a timestamp) are rebuilt by the shape; their details, with nothing to
    convert below them, go out as the handler built them (the cheap path for 1,000-event pages)."""
    shape = operation_model("stepfunctions", "GetExecutionHistory").output_shape
    details = {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": "r"}
    event = {
        "id": 1,
        "previousEventId": 0,
        "timestamp": "2024-01-01T00:00:01.5+00:00",
        "type": "ExecutionStarted",
        "executionStartedEventDetails": details,
        "notInModel": True,
        "executionFailedEventDetails": None,
    }
    out = shape_output(shape)({"events": [event], "nextToken": None})
    assert out == {
        "events": [
            {
                "id": 1,
                "previousEventId": 0,
                "timestamp": 1704067201.5,
                "type": "ExecutionStarted",
                "executionStartedEventDetails": details,
            }
        ]
    }
    assert out["events"][0]["executionStartedEventDetails"] is details


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), 1.0),
        ("1970-01-01T00:00:02.250000+00:00", 2.25),
        (3, 3.0),
    ],
    ids=["datetime", "iso-text", "number"],
)
def test_epoch_seconds(value: Any, seconds: float) -> None:
    assert epoch_seconds(value) == seconds


def test_checkers_and_serializers_are_compiled_once_per_shape() -> None:
    shape = operation_model("stepfunctions", "ListExecutions").input_shape
    assert check_input(shape) is check_input(shape)
    out = operation_model("stepfunctions", "ListExecutions").output_shape
    assert shape_output(out) is shape_output(out)
