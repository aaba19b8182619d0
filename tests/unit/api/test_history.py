"""The API serves stored (lossless) history events exactly as ``statemachine.history.event_json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from api.services.history import served_event
from statemachine.history import event_json
from statemachine.host import HistoryEvent

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
EVENTS = [
    HistoryEvent(
        1,
        0,
        AT,
        "ExecutionStarted",
        "executionStartedEventDetails",
        {
            "input": {"é": [1, 2.5, None]},
            "inputDetails": {"truncated": False},
            "roleArn": "arn:aws:iam::1:role/r",
        },
    ),
    HistoryEvent(2, 1, AT, "PassStateEntered", "stateEnteredEventDetails", {"name": "P", "input": "text"}),
    HistoryEvent(
        3,
        2,
        AT,
        "TaskScheduled",
        "taskScheduledEventDetails",
        {"resource": "invoke", "parameters": {"FunctionName": "f", "Payload": {}}, "region": "us-east-1"},
    ),
    HistoryEvent(4, 3, AT, "ExecutionSucceeded", "executionSucceededEventDetails", {"output": None}),
    HistoryEvent(5, 4, AT, "MapIterationStarted", "mapIterationStartedEventDetails", {"index": 0}),
    HistoryEvent(6, 5, AT, "ParallelStateStarted"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.type for e in EVENTS])
def test_served_event_is_event_json_of_the_stored_form(event: HistoryEvent) -> None:
    stored = json.loads(json.dumps(event.to_json()))  # what PostgreSQL and the history query hand back
    before = json.dumps(stored)
    assert served_event(stored) == event_json(event)
    assert json.dumps(stored) == before, "the stored event must not change"


def test_text_fields_decode_back_to_the_values() -> None:
    served = served_event(EVENTS[0].to_json())["executionStartedEventDetails"]
    assert json.loads(served["input"]) == {"é": [1, 2.5, None]}
    assert served["roleArn"] == "arn:aws:iam::1:role/r" and served["inputDetails"] == {"truncated": False}
