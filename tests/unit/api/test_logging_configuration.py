"""``loggingConfiguration`` checked as Step Functions checks it, each refusal naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from api.services.execution_logs import ONE_DESTINATION, check, normalized
from foundation.errors import InvalidRequest

ARN = "arn:aws:logs:us-east-1:123456789012:log-group:orders:*"
DESTINATION = [{"cloudWatchLogsLogGroup": {"logGroupArn": ARN}}]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, ("OFF", False, None, None)),
        ({"level": "OFF", "includeExecutionData": True}, ("OFF", True, None, None)),
        ({"level": "FATAL", "destinations": DESTINATION}, ("FATAL", False, ARN, "orders")),
        ({"level": "OFF", "destinations": DESTINATION}, ("OFF", False, ARN, "orders")),
    ],
    ids=["empty", "off-with-data", "fatal", "off-with-destination"],
)
def test_accepted_configurations(config: dict[str, Any], expected: tuple[Any, ...]) -> None:
    assert check(config) == expected


@pytest.mark.parametrize(
    ("config", "location", "code"),
    [
        ([], "/loggingConfiguration", None),
        ({"level": "ALL", "extra": 1}, "/loggingConfiguration/extra", None),
        ({"level": "VERBOSE"}, "/loggingConfiguration/level", None),
        ({"includeExecutionData": "yes"}, "/loggingConfiguration/includeExecutionData", None),
        ({"level": "ERROR"}, "/loggingConfiguration/destinations", "InvalidLoggingConfiguration"),
        (
            {"level": "ALL", "destinations": DESTINATION * 2},
            "/loggingConfiguration/destinations",
            "InvalidLoggingConfiguration",
        ),
        (
            {"level": "ALL", "destinations": "x"},
            "/loggingConfiguration/destinations",
            "InvalidLoggingConfiguration",
        ),
        (
            {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": 7}}]},
            "/loggingConfiguration/destinations/0/cloudWatchLogsLogGroup/logGroupArn",
            "InvalidLoggingConfiguration",
        ),
        (
            {
                "level": "ALL",
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:sqs:::q"}}],
            },
            "/loggingConfiguration/destinations/0/cloudWatchLogsLogGroup/logGroupArn",
            "InvalidLoggingConfiguration",
        ),
    ],
    ids=[
        "not-object",
        "unknown-member",
        "level",
        "include-not-bool",
        "no-destination",
        "two",
        "not-a-list",
        "arn-not-text",
        "not-a-log-group",
    ],
)
def test_refused_configurations_name_their_field(config: Any, location: str, code: str | None) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check(config)
    problem = refused.value.problems[0]
    assert problem["location"] == location
    assert problem.get("code") == code
    if location.endswith("destinations"):
        assert problem["message"] == ONE_DESTINATION


def test_normalized_is_what_describe_answers() -> None:
    assert normalized(None) == {"level": "OFF", "includeExecutionData": False}
    assert normalized({"level": "ALL", "destinations": DESTINATION}) == {
        "level": "ALL", "includeExecutionData": False, "destinations": DESTINATION,
    }  # fmt: skip
