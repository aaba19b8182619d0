"""Where a redriven execution resumes, read from the history of its last attempt.

Step Functions' RedriveExecution continues an execution from the state that did not succeed, with
that state's input, keeping the results and history of what succeeded. Here: the last top-level
state the history entered (it failed, timed out or was aborted while it ran), with the input and the
variables in scope it was entered with. A Map or Parallel state resumed this way runs all its
iterations or branches again (AWS reruns only those that did not succeed). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from statemachine import ir
from statemachine.history_reading import Event, state_story
from statemachine.json_types import JSON


@dataclass(frozen=True)
class Resume:
    """A redriven execution's starting point."""

    state: str
    """The top-level state to run first."""
    input: JSON
    variables: dict[str, JSON] = field(default_factory=dict)
    """The variables in scope when that state was entered."""
    last_event_id: int = 0
    """The last event of the history so far: the redriven attempt's events follow it."""
    redrive_count: int = 1
    """Which redrive this is (ExecutionRedriven's ``redriveCount``)."""

    def to_json(self) -> dict[str, JSON]:
        return {
            "state": self.state,
            "input": self.input,
            "variables": self.variables,
            "lastEventId": self.last_event_id,
            "redriveCount": self.redrive_count,
        }

    @staticmethod
    def from_json(value: dict[str, JSON]) -> Resume:
        variables = value.get("variables")
        last, count = value.get("lastEventId"), value.get("redriveCount")
        return Resume(
            state=str(value["state"]),
            input=value.get("input"),
            variables=dict(variables) if isinstance(variables, dict) else {},
            last_event_id=last if isinstance(last, int) else 0,
            redrive_count=count if isinstance(count, int) else 1,
        )


def resume_point(
    program: ir.Program, events: Sequence[Event], execution_input: JSON, redrive_count: int
) -> Resume:
    """Where the next attempt of an execution whose history is ``events`` starts: the last top-level
    state entered, or the first state (with the execution's input) when none was."""
    top_level = program.block.states
    last_id = max((int(e["id"]) for e in events), default=0)
    for event in reversed(events):
        if not str(event.get("type", "")).endswith("StateEntered"):
            continue
        name = (event.get("stateEnteredEventDetails") or {}).get("name")
        if name in top_level:
            story = state_story(events, int(event["id"]))
            return Resume(name, story.input, story.variables, last_id, redrive_count)
    return Resume(program.block.start_at, execution_input, {}, last_id, redrive_count)
