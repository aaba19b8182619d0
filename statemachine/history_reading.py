"""Reading one state's story back out of an execution's Step Functions history.

Events are dicts in the stored shape (``HistoryEvent.to_json()``: ``input``/``output`` as JSON values;
``assignedVariables`` values as JSON text, as recorded). Events link to the one before them in their
thread (``previousEventId``), so a state's events are the ones descending from its entered event,
up to its exited event; concurrent threads (Map iterations, Parallel branches) never link into each
other, except where the interpreter joins them, which is handled here:

- a Map iteration's MapIterationStarted links to the event the Map's chain was at (possibly the last
  event of an earlier iteration), so going backwards it leads to the Map's entered event;
- a Parallel's or Map's exited event links (through its Succeeded event) to a branch's last event,
  so going backwards it leads to its own entered event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from statemachine.json_types import JSON

Event = dict[str, Any]

RESULT_EVENTS = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded"})
SCHEDULED_EVENTS = frozenset({"LambdaFunctionScheduled", "TaskScheduled"})
_ITERATION_END = {
    "MapIterationSucceeded": "SUCCEEDED",
    "MapIterationFailed": "FAILED",
    "MapIterationAborted": "ABORTED",
}


class NotAStateEntry(LookupError):
    """The event id is not a ``...StateEntered`` event of this history."""


@dataclass(frozen=True)
class Attempt:
    """A failure recorded while the state ran (a Retry's reason, or the final error)."""

    event_id: int
    type: str
    error: str | None
    cause: str | None


@dataclass(frozen=True)
class StateStory:
    """What the history says about one run of a state."""

    name: str
    state_type: str
    """``Task``, ``Pass``, ``Map`` ... (from the entered event's type)."""
    entered: Event
    exited: Event | None
    """None while the state runs, or when it failed without a Catch."""
    input: JSON
    has_result: bool
    result: JSON
    """A Task's last successful result (``has_result`` says whether there is one)."""
    failures: tuple[Attempt, ...]
    error: Attempt | None
    """The failure the state ended with (caught, or failing it); None when it did not fail."""
    retry_count: int
    variables: dict[str, JSON]
    """Variables in scope when the state was entered (values parsed from the history's text)."""
    events: tuple[Event, ...] = field(default=(), repr=False)
    """The state's own events, entered to exited (or to the last one descending from it)."""


def state_story(events: Sequence[Event], entered_id: int) -> StateStory:
    """The story of the state entered at event ``entered_id``; NotAStateEntry otherwise."""
    by_id = {event["id"]: event for event in events}
    entered = by_id.get(entered_id)
    if entered is None or not str(entered.get("type", "")).endswith("StateEntered"):
        raise NotAStateEntry(f"event {entered_id} is not a state's entered event in this history")
    details = entered.get("stateEnteredEventDetails") or {}
    name = details.get("name", "")
    own = _descendants(events, entered_id, name)
    exited = own[-1] if own and own[-1]["type"].endswith("StateExited") and own[0] is not own[-1] else None
    result: JSON = None
    has_result = False
    failures: list[Attempt] = []
    last_success = 0
    scheduled = 0
    for event in own[1:]:
        kind = event["type"]
        if kind in SCHEDULED_EVENTS:
            scheduled += 1
        if kind in RESULT_EVENTS:
            result, has_result, last_success = _details(event).get("output"), True, event["id"]
        failure = _failure(event)
        if failure is not None:
            failures.append(failure)
    error = failures[-1] if failures and failures[-1].event_id > last_success else None
    return StateStory(
        name=name,
        state_type=entered["type"][: -len("StateEntered")],
        entered=entered,
        exited=exited,
        input=details.get("input"),
        has_result=has_result,
        result=result,
        failures=tuple(failures),
        error=error,
        retry_count=max(0, scheduled - 1),
        variables=variables_in_scope(by_id, entered),
        events=tuple(own),
    )


def _details(event: Event) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _failure(event: Event) -> Attempt | None:
    details = _details(event)
    if "error" not in details or event["type"].startswith("Execution"):
        return None
    return Attempt(event["id"], event["type"], details.get("error"), details.get("cause"))


def _descendants(events: Sequence[Event], entered_id: int, name: str) -> list[Event]:
    """The entered event and those linked after it, up to the state's own exited event."""
    linked = {entered_id}
    own: list[Event] = []
    for event in events:
        event_id = event["id"]
        if event_id == entered_id:
            own.append(event)
            continue
        if event_id < entered_id or event.get("previousEventId") not in linked:
            continue
        linked.add(event_id)
        own.append(event)
        if event["type"].endswith("StateExited") and _details(event).get("name") == name:
            break
    return own


def variables_in_scope(by_id: dict[int, Event], entered: Event) -> dict[str, JSON]:
    """The variables assigned before ``entered`` in its thread and the threads enclosing it."""
    assigned: list[dict[str, Any]] = []
    current = entered.get("previousEventId") or 0
    while current:
        event = by_id.get(current)
        if event is None:
            break
        kind = event["type"]
        details = _details(event)
        if kind.endswith("StateExited") and details.get("assignedVariables"):
            assigned.append(details["assignedVariables"])
        if kind in ("ParallelStateExited", "MapStateExited"):
            current = _entered_before(by_id, current, kind.replace("Exited", "Entered"), details.get("name"))
        elif kind == "MapIterationStarted":
            current = _entered_before(by_id, current, "MapStateEntered", details.get("name"))
        else:
            current = event.get("previousEventId") or 0
    variables: dict[str, JSON] = {}
    for values in reversed(assigned):
        for key, text in values.items():
            variables[key] = _parsed(text)
    return variables


def _entered_before(by_id: dict[int, Event], before: int, kind: str, name: Any) -> int:
    """The previous event id of the latest ``kind`` event of state ``name`` before ``before``."""
    for event_id in range(before - 1, 0, -1):
        event = by_id.get(event_id)
        if event is not None and event["type"] == kind and _details(event).get("name") == name:
            return int(event.get("previousEventId") or 0)
    return 0


def _parsed(text: Any) -> JSON:
    if not isinstance(text, str):
        return text  # type: ignore[no-any-return]
    try:
        value: JSON = json.loads(text)
    except ValueError:
        return text
    return value


# Map iterations and Parallel branches ---------------------------------------------------------


@dataclass(frozen=True)
class Iteration:
    """One Map iteration or Parallel branch as the history shows it."""

    index: int
    status: str
    """RUNNING, SUCCEEDED, FAILED or ABORTED."""
    started_event_id: int
    ended_event_id: int | None
    events_recorded: bool
    """Whether its states' events are in this history (not for iterations run in chunks)."""


def map_iterations(story: StateStory) -> list[Iteration]:
    """A Map's iterations by index, from its MapIteration* events."""
    started: dict[int, Event] = {}
    ended: dict[int, Event] = {}
    inner: set[int] = set()
    owner: dict[int, int] = {}
    for event in story.events[1:]:
        kind = event["type"]
        details = _details(event)
        if kind.startswith("MapIteration") and details.get("name") == story.name:
            index = int(details.get("index", -1))
            if kind == "MapIterationStarted":
                started[index] = event
                owner[event["id"]] = index
            elif kind in _ITERATION_END:
                ended[index] = event
            continue
        index_of = owner.get(event.get("previousEventId") or -1)
        if index_of is not None and not kind.startswith("MapState"):
            owner[event["id"]] = index_of
            inner.add(index_of)
    out = []
    for index in sorted(started):
        end = ended.get(index)
        status = _ITERATION_END[end["type"]] if end is not None else "RUNNING"
        out.append(Iteration(index, status, started[index]["id"], end["id"] if end else None, index in inner))
    return out


def map_iteration_events(story: StateStory, index: int) -> list[Event]:
    """The events of iteration ``index`` of a Map, from its MapIterationStarted to its end event."""
    mine: set[int] = set()
    out: list[Event] = []
    for event in story.events[1:]:
        kind = event["type"]
        details = _details(event)
        if kind.startswith("MapIteration") and details.get("name") == story.name:
            if details.get("index") == index:
                if kind == "MapIterationStarted":
                    mine.add(event["id"])
                out.append(event)
            continue
        if event.get("previousEventId") in mine and not kind.startswith("MapState"):
            mine.add(event["id"])
            out.append(event)
    return out


def parallel_branches(story: StateStory, branch_starts: Sequence[str]) -> list[tuple[Iteration, list[Event]]]:
    """A Parallel's branches (by their StartAt names, in definition order) and their events."""
    started = next((e for e in story.events if e["type"] == "ParallelStateStarted"), None)
    if started is None:
        return []
    firsts = {
        _details(e).get("name"): e
        for e in story.events
        if e.get("previousEventId") == started["id"] and e["type"].endswith("StateEntered")
    }
    ended = story.exited is not None or any(e["type"] == "ParallelStateFailed" for e in story.events)
    out: list[tuple[Iteration, list[Event]]] = []
    for index, start_at in enumerate(branch_starts):
        first = firsts.get(start_at)
        if first is None:
            continue
        events = _linked_from(story.events, first)
        status = _branch_status(events, ended, succeeded=story.exited is not None and story.error is None)
        out.append((Iteration(index, status, first["id"], events[-1]["id"] if ended else None, True), events))
    return out


def _linked_from(events: Iterable[Event], first: Event) -> list[Event]:
    linked = {first["id"]}
    out = [first]
    for event in events:
        if event["id"] > first["id"] and event.get("previousEventId") in linked:
            if event["type"].startswith("ParallelState"):
                continue
            linked.add(event["id"])
            out.append(event)
    return out


def _branch_status(events: list[Event], ended: bool, *, succeeded: bool) -> str:
    if not ended:
        return "RUNNING"
    if succeeded:
        return "SUCCEEDED"
    if any(e["type"].endswith("Aborted") for e in events):
        return "ABORTED"
    if any(_failure(e) is not None for e in events):
        return "FAILED"
    return "SUCCEEDED"


def final_outputs(groups: Sequence[Sequence[Event]]) -> list[JSON] | None:
    """Each group's (branch's, iteration's) last exited state's output, in order: a Parallel's or
    Map's result as the interpreter built it; None when a group has no exited state (it failed, or
    its events were not recorded)."""
    outputs: list[JSON] = []
    for group in groups:
        exits = [e for e in group if e["type"].endswith("StateExited")]
        if not exits:
            return None
        outputs.append(_details(exits[-1]).get("output"))
    return outputs
