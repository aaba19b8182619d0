"""Where a redriven execution resumes, read from the history of its last attempt.

Step Functions' RedriveExecution continues an execution from the state that did not succeed, with
that state's input, keeping the results and history of what succeeded. Here: the last top-level
state the history entered (it failed, timed out or was aborted while it ran), with the input and the
variables in scope it was entered with; a Map or Parallel state resumed this way runs only the
iterations or branches that did not succeed (``Resume.done`` holds the others' outputs; for a Map
run in chunks, ``statemachine.offload``, the host reads them from the chunks' results:
``chunk_outputs``). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from statemachine import ir
from statemachine.history_reading import (
    Event,
    StateStory,
    final_outputs,
    map_iteration_events,
    map_iterations,
    parallel_branches,
    state_story,
)
from statemachine.json_types import JSON
from statemachine.offload import outcomes_from_json


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
    done: dict[int, JSON] = field(default_factory=dict)
    """For a Map or Parallel state: the outputs of its iterations or branches that succeeded, by
    index (they are not run again)."""
    map_run_arn: str = ""
    """For a Distributed Map whose map run did not succeed: that run, which the redrive continues
    (same ARN, as Step Functions redrives the Map Run); else empty (a new run starts)."""
    map_run_redrive_count: int = 0
    """Which redrive of that map run this is (MapRunRedriven's ``redriveCount``)."""

    def to_json(self) -> dict[str, JSON]:
        body: dict[str, JSON] = {
            "state": self.state,
            "input": self.input,
            "variables": self.variables,
            "lastEventId": self.last_event_id,
            "redriveCount": self.redrive_count,
            "done": {str(index): output for index, output in self.done.items()},
        }
        if self.map_run_arn:
            body["mapRunArn"] = self.map_run_arn
            body["mapRunRedriveCount"] = self.map_run_redrive_count
        return body

    @staticmethod
    def from_json(value: dict[str, JSON]) -> Resume:
        variables, done = value.get("variables"), value.get("done")
        last, count = value.get("lastEventId"), value.get("redriveCount")
        map_run, map_count = value.get("mapRunArn"), value.get("mapRunRedriveCount")
        return Resume(
            state=str(value["state"]),
            input=value.get("input"),
            variables=dict(variables) if isinstance(variables, dict) else {},
            last_event_id=last if isinstance(last, int) else 0,
            redrive_count=count if isinstance(count, int) else 1,
            done={int(index): output for index, output in done.items()} if isinstance(done, dict) else {},
            map_run_arn=map_run if isinstance(map_run, str) else "",
            map_run_redrive_count=map_count if isinstance(map_count, int) else 0,
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
            done = succeeded_parts(top_level[name], story)
            map_run, map_count = unfinished_map_run(top_level[name], story)
            return Resume(
                name, story.input, story.variables, last_id, redrive_count, done, map_run, map_count
            )
    return Resume(program.block.start_at, execution_input, {}, last_id, redrive_count)


def succeeded_parts(state: ir.State, story: StateStory) -> dict[int, JSON]:
    """The outputs of a Map's iterations (MapIterationSucceeded, states recorded) or a Parallel's
    branches (its last exited state ends the branch) that succeeded, by index."""
    done: dict[int, JSON] = {}
    if isinstance(state, ir.Map):
        for iteration in map_iterations(story):
            if iteration.status == "SUCCEEDED" and iteration.events_recorded:
                outputs = final_outputs([map_iteration_events(story, iteration.index)[1:-1]])
                if outputs is not None:
                    done[iteration.index] = outputs[0]
    elif isinstance(state, ir.Parallel):
        starts = [branch.start_at for branch in state.branches]
        for branch_run, events in parallel_branches(story, starts):
            exits = [e for e in events if e["type"].endswith("StateExited")]
            branch = state.branches[branch_run.index]
            last = (exits[-1].get("stateExitedEventDetails") or {}) if exits else {}
            if exits and _ends(branch, last.get("name")):
                done[branch_run.index] = last.get("output")
    return done


def unfinished_map_run(state: ir.State, story: StateStory) -> tuple[str, int]:
    """A Distributed Map's last map run in ``story`` when it did not succeed (its ARN, and the
    redrive count the next redrive gives it); else ``("", 0)``: the redrive starts a new run."""
    if not (isinstance(state, ir.Map) and state.distributed):
        return "", 0
    for event in reversed(story.events):
        kind = event.get("type")
        if kind == "MapRunSucceeded":
            return "", 0
        if kind == "MapRunStarted":
            arn = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")
            return (arn, 1) if isinstance(arn, str) and arn else ("", 0)
        if kind == "MapRunRedriven":
            details = event.get("mapRunRedrivenEventDetails") or {}
            arn, count = details.get("mapRunArn"), details.get("redriveCount")
            if isinstance(arn, str) and arn and isinstance(count, int):
                return arn, count + 1
            return "", 0
    return "", 0


def _ends(block: ir.Block, name: object) -> bool:
    """Whether leaving state ``name`` ends ``block`` (a Succeed state, or one with End)."""
    state = block.states.get(name) if isinstance(name, str) else None
    if state is None or isinstance(state, ir.Choice | ir.Fail):
        return False
    return isinstance(state, ir.Succeed) or getattr(state, "next", None) is None


def chunk_outputs(results: Sequence[str]) -> dict[int, JSON]:
    """The outputs of the iterations that succeeded in a Map's chunks, by index, from the chunks'
    results (``outcomes_to_json`` text; a chunk stopped by a failure still lists its successes)."""
    done: dict[int, JSON] = {}
    for text in results:
        for outcome in outcomes_from_json(text):
            if outcome.error is None:
                done[outcome.index] = outcome.output
    return done
