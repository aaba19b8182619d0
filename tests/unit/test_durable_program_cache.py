"""The worker compiles each definition text once per process (``workers.host.program_of``) and
serialises finished histories cheaply (``workers.workflow.chunks``)."""

from __future__ import annotations

import json

import pytest

from statemachine.errors import DefinitionError
from workers.host import program_of


def test_one_program_per_definition_text() -> None:
    text = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert program_of(text) is program_of(text)
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}})
    assert program_of(other) is not program_of(text)


def test_an_invalid_definition_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(DefinitionError):
            program_of('{"StartAt": "Missing", "States": {}}')


def test_stored_events_are_to_json_with_shared_timestamps_formatted_once() -> None:
    from datetime import UTC, datetime

    from statemachine.host import HistoryEvent
    from workers.workflow import chunks, stored

    at, later = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    events = [
        HistoryEvent(1, 0, at, "ExecutionStarted", "executionStartedEventDetails", {"input": {"a": 1}}),
        HistoryEvent(2, 1, at, "PassStateEntered", "stateEnteredEventDetails", None),
        HistoryEvent(3, 2, later, "ParallelStateStarted"),
    ]
    stamps: dict[int, str] = {}
    assert [stored(e, stamps) for e in events] == [e.to_json() for e in events]
    assert len(stamps) == 2
    assert json.loads(chunks(events, 10_000)[0]) == [e.to_json() for e in events]
    assert [len(json.loads(c)) for c in chunks(events, 150)] == [1, 1, 1]
