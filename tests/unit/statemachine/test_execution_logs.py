"""Which events a logging level keeps, and the log event each history event becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from statemachine import ArnError, log_event, log_group_name, logged

ARN = "arn:aws:states:us-east-1:000000000000:express:m:n:0d8b3c8e-6f0a-4a39-9c43-2b1f5d3f4a10"


@pytest.mark.parametrize(
    ("level", "event_type", "kept"),
    [
        ("ALL", "PassStateEntered", True),
        ("ERROR", "PassStateEntered", False),
        ("ERROR", "TaskFailed", True),
        ("ERROR", "ExecutionFailed", True),
        ("FATAL", "TaskFailed", False),
        ("FATAL", "ExecutionTimedOut", True),
        ("OFF", "ExecutionFailed", False),
    ],
    ids=["all", "error-drops-entered", "error-task", "error-execution", "fatal-drops-task", "fatal", "off"],
)
def test_levels_keep_their_events(level: str, event_type: str, kept: bool) -> None:
    assert logged(level, event_type) is kept


STARTED: dict[str, Any] = {
    "id": 1,
    "previousEventId": 0,
    "timestamp": "2026-12-04T03:00:00.250000+00:00",
    "type": "ExecutionStarted",
    "executionStartedEventDetails": {
        "input": {"a": "b"},
        "inputDetails": {"truncated": False},
        "roleArn": "r",
    },
}


def test_a_log_event_has_step_functions_shape() -> None:
    assert log_event(STARTED, ARN, include_execution_data=True) == {
        "id": "1",
        "type": "ExecutionStarted",
        "details": {"input": '{"a":"b"}', "inputDetails": {"truncated": False}, "roleArn": "r"},
        "previous_event_id": "0",
        "event_timestamp": str(int(datetime(2026, 12, 4, 3, tzinfo=UTC).timestamp() * 1000) + 250),
        "execution_arn": ARN,
        "redrive_count": "0",
    }


def test_without_execution_data_input_and_output_are_left_out() -> None:
    assert log_event(STARTED, ARN, include_execution_data=False)["details"] == {"roleArn": "r"}
    string_input = {**STARTED, "executionStartedEventDetails": {"input": "text"}}
    assert log_event(string_input, ARN, include_execution_data=True)["details"] == {"input": '"text"'}
    no_details = {"id": 2, "previousEventId": 1, "timestamp": STARTED["timestamp"], "type": "PassStateExited"}
    assert "details" not in log_event(no_details, ARN, include_execution_data=True)


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/x-Logs:*",
            "/aws/vendedlogs/states/x-Logs",
        ),
        ("arn:aws:logs:us-east-1:123456789012:log-group:plain", "plain"),
        ("arn:aws-cn:logs:cn-north-1:123456789012:log-group:a.b_c#d:*", "a.b_c#d"),
    ],
    ids=["vended", "no-star", "partition"],
)
def test_log_group_names_are_read_from_their_arns(arn: str, name: str) -> None:
    assert log_group_name(arn) == name


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:s3:::bucket",
        "arn:aws:logs:us-east-1:123456789012:log-group:",
        "arn:aws:logs:us-east-1:123456789012:log-group:a b:*",
        "arn:aws:logs:us-east-1:123456789012:log-group:../../etc:*x",
        "log-group:x",
    ],
    ids=["s3", "empty", "space", "trailing", "not-an-arn"],
)
def test_other_texts_are_not_log_groups(arn: str) -> None:
    with pytest.raises(ArnError):
        log_group_name(arn)
