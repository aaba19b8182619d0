"""The console's look inside an execution: one state's step-through, a Map's iterations and a
Parallel's branches, all read from the execution's history with the language's own code
(``statemachine.inspect_state``, ``statemachine.state_story``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from api import console_schemas as schemas
from api.pagination import decode_token, encode_token
from api.services.executions import query_history
from api.services.history import served_event
from api.state import AppState
from foundation.errors import InvalidRequest, NotFound
from foundation.registry import executions as registry
from foundation.registry.database import unit_of_work
from foundation.registry.executions import RUNNING, Execution
from foundation.registry.state_machines import StateMachineVersion, get_state_machine
from statemachine import (
    EXECUTION_ROLE_ARN,
    ExecutionContext,
    InspectionLevel,
    Iteration,
    NotAStateEntry,
    StateStory,
    branch_start_names,
    execution_arn,
    find_state,
    inspect_state,
    load_program,
    map_iteration_events,
    map_iterations,
    parallel_branches,
    state_machine_arn,
    state_story,
    work_of,
)
from workers.contracts import HistoryQuery

EVENTS_PER_READ = 1000
MAX_EVENTS = 1_000_000
"""The history limit of a durable execution (``workers.workflow.DURABLE_LIMITS``)."""


class StateEventNotFound(NotFound):
    """The event id is not a state's entered event of that execution."""


MAX_CONCURRENT_READS = 4
"""Whole histories (up to a million events) read at once per process: more requests wait their turn,
so memory stays bounded whatever a client sends."""
_reads: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def history_read() -> AsyncIterator[None]:
    """One of the process's ``MAX_CONCURRENT_READS`` turns at holding a whole history (the request's
    read and everything it computes from it)."""
    loop = asyncio.get_running_loop()
    reads = _reads.get(loop)
    if reads is None:
        reads = _reads[loop] = asyncio.Semaphore(MAX_CONCURRENT_READS)
    async with reads:
        yield


async def execution_events(state: AppState, execution_id: str) -> tuple[Execution, list[dict[str, Any]]]:
    """The execution's row and its whole history in the stored shape (JSON values); callers hold a
    ``history_read`` turn while they use it."""
    async with unit_of_work(state.sessions) as session:
        row = await registry.get_execution(session, execution_id)
        if row.status != RUNNING:
            return row, await registry.history_page(session, execution_id, MAX_EVENTS, None, False)
    events: list[dict[str, Any]] = []
    while True:
        after = events[-1]["id"] if events else None
        page = await query_history(state, execution_id, HistoryQuery(after, EVENTS_PER_READ, False))
        if page is None:  # it finished meanwhile: PostgreSQL has the whole history now
            async with unit_of_work(state.sessions) as session:
                row = await registry.get_execution(session, execution_id)
                return row, await registry.history_page(session, execution_id, MAX_EVENTS, None, False)
        events += page.events
        if not page.more:
            return row, events


async def _story(
    state: AppState, execution_id: str, event_id: int
) -> tuple[Execution, StateStory, StateMachineVersion]:
    """The row, the story of the state entered at ``event_id``, and the execution's machine version."""
    row, events = await execution_events(state, execution_id)
    try:
        story = state_story(events, event_id)
    except NotAStateEntry as exc:
        raise StateEventNotFound(f"{exc} of execution {execution_id!r}") from None
    async with unit_of_work(state.sessions) as session:
        _, version = await get_state_machine(session, row.state_machine_name, row.state_machine_version)
    return row, story, version


async def steps(
    state: AppState, execution_id: str, event_id: int, level: InspectionLevel
) -> schemas.StateSteps:
    """The data after each stage of the state entered at ``event_id`` (docs/console-api.md)."""
    async with history_read():
        return await _steps(state, execution_id, event_id, level)


async def _steps(
    state: AppState, execution_id: str, event_id: int, level: InspectionLevel
) -> schemas.StateSteps:
    row, story, version = await _story(state, execution_id, event_id)
    definition = version.definition
    program = load_program(definition)
    compiled = find_state(program.block, story.name)
    if compiled is None:  # cannot happen for a history of this definition
        raise StateEventNotFound(f"state {story.name!r} is not in version {row.state_machine_version}")
    context = ExecutionContext(
        execution_id=execution_arn(row.state_machine_name, row.name, state.settings.region),
        execution_name=row.name,
        state_machine_id=state_machine_arn(row.state_machine_name, state.settings.region),
        state_machine_name=row.state_machine_name,
        role_arn=version.role_arn or EXECUTION_ROLE_ARN,
        start_time=row.start_date,
    )
    entered_time = _timestamp(story.entered.get("timestamp")) or row.start_date
    inspection = inspect_state(
        compiled, work_of(compiled, story, entered_time), context, json.loads(row.input), level
    )
    raw_state = _raw_state(json.loads(definition), story.name) or {}
    recorded = (story.exited or {}).get("stateExitedEventDetails", {})
    if story.exited is not None:
        status = "CAUGHT_ERROR" if story.error is not None else "SUCCEEDED"
    else:
        status = "RUNNING" if row.status == RUNNING and story.error is None else "FAILED"
    error = story.error.error if story.error is not None else inspection.error
    cause = story.error.cause if story.error is not None else inspection.cause
    return schemas.StateSteps(
        state_name=story.name,
        state_type=story.state_type,
        query_language=compiled.query_language,
        entered_event_id=event_id,
        exited_event_id=story.exited["id"] if story.exited is not None else None,
        status=status,
        next_state=inspection.next_state if story.exited is not None else None,
        error=error if status in ("CAUGHT_ERROR", "FAILED") else None,
        cause=cause if status in ("CAUGHT_ERROR", "FAILED") else None,
        inspection_data=inspection.inspection_data(),
        output=inspection.output if story.exited is not None else None,
        recorded_output=recorded.get("output"),
        stages=[
            schemas.StepStage(
                name=s.name,
                field=s.field,
                expression=raw_state.get(s.field) if s.field is not None else None,
                value=s.value,
            )
            for s in inspection.stages
        ],
        variables=inspection.variables,
        variables_in_scope=story.variables,
        attempts=[schemas.StepAttempt(event_id=a.event_id, type=a.type, error=a.error, cause=a.cause)
                  for a in story.failures],
        notes=list(inspection.notes),
    )  # fmt: skip


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _raw_state(definition: Any, name: str) -> dict[str, Any] | None:
    """The state's JSON in the definition, searched through Parallel branches and Map processors."""
    pending = [definition]
    while pending:
        block = pending.pop()
        states = block.get("States") if isinstance(block, dict) else None
        if not isinstance(states, dict):
            continue
        found = states.get(name)
        if isinstance(found, dict):
            return found
        for candidate in states.values():
            if isinstance(candidate, dict):
                pending.extend(candidate.get("Branches") or [])
                pending.append(candidate.get("ItemProcessor") or candidate.get("Iterator"))
    return None


async def _iterations(
    state: AppState, execution_id: str, event_id: int
) -> tuple[StateStory, list[Iteration], list[list[dict[str, Any]]] | None]:
    """A Map's iterations, or a Parallel's branches with their events."""
    _, story, version = await _story(state, execution_id, event_id)
    if story.state_type == "Map":
        return story, map_iterations(story), None
    if story.state_type == "Parallel":
        compiled = find_state(load_program(version.definition).block, story.name)
        branches = parallel_branches(story, branch_start_names(compiled) if compiled is not None else [])
        return story, [b for b, _ in branches], [events for _, events in branches]
    raise InvalidRequest(
        f"event {event_id} entered a {story.state_type} state; only Map and Parallel states have iterations",
        [{"location": "path:/eventId"}],
    )


async def iterations_page(
    state: AppState, execution_id: str, event_id: int, status: str | None, limit: int, next_token: str | None
) -> schemas.IterationList:
    """A page of a Map's iterations (or a Parallel's branches) by index, optionally of one status."""
    after = _position(next_token) if next_token else -1
    async with history_read():
        story, found, _ = await _iterations(state, execution_id, event_id)
    counts = dict.fromkeys(("RUNNING", "SUCCEEDED", "FAILED", "ABORTED"), 0)
    for iteration in found:
        counts[iteration.status] += 1
    chosen = [i for i in found if i.index > after and (status is None or i.status == status)]
    page = chosen[:limit]
    token = encode_token("iterations", {"after": page[-1].index}) if len(chosen) > limit else None
    return schemas.IterationList(
        state_name=story.name,
        state_type=story.state_type,
        total=len(found),
        counts=counts,
        iterations=[
            schemas.IterationSummary(
                index=i.index,
                status=i.status,
                started_event_id=i.started_event_id,
                ended_event_id=i.ended_event_id,
                events_recorded=i.events_recorded,
            )
            for i in page
        ],
        next_token=token,
    )


def _position(next_token: str) -> int:
    after = decode_token("iterations", next_token).get("after")
    if type(after) is not int:
        raise InvalidRequest("nextToken is not a token this API issued", [{"location": "query:/nextToken"}])
    return after


async def iteration_events(
    state: AppState, execution_id: str, event_id: int, index: int
) -> schemas.IterationEvents:
    """The events of one iteration (or branch), in the history's served shape."""
    async with history_read():
        story, found, branch_events = await _iterations(state, execution_id, event_id)
    iteration = next((i for i in found if i.index == index), None)
    if iteration is None:
        raise NotFound(
            f"{story.state_type} state {story.name!r} has no iteration {index} at event {event_id}"
        )
    events = (
        branch_events[found.index(iteration)]
        if branch_events is not None
        else map_iteration_events(story, index)
    )
    return schemas.IterationEvents(
        index=index,
        status=iteration.status,
        events=[served_event(e) for e in events],
    )
