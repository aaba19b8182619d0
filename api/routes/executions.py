"""Routes for executions: start, sync start, list, describe, history, stop."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from fastapi.responses import StreamingResponse

from api import console_schemas, schemas
from api.deps import SessionDep, SettingsDep, StateDep
from api.json_input import JsonRoute
from api.services import costs, inspection, live, redrive, sync_executions
from api.services import executions as service
from statemachine import InspectionLevel

router = APIRouter(tags=["executions"], route_class=JsonRoute)
sync_router = APIRouter(tags=["executions"], route_class=JsonRoute)
"""The hot path in a router of its own, which ``api.app`` includes first (routes are tried in order)."""


@router.post("/v1/state-machines/{name}/executions", status_code=status.HTTP_201_CREATED)
async def start_execution(
    name: str, body: schemas.StartExecution, state: StateDep
) -> schemas.ExecutionStarted:
    return await service.start(state, name, body)


@router.post("/v1/executions/{execution_id}/redrive")
async def redrive_execution(execution_id: str, state: StateDep) -> schemas.ExecutionStarted:
    """RedriveExecution: continue a FAILED, TIMED_OUT or ABORTED execution from the state that did
    not succeed (409 with the reason when it cannot be)."""
    return service.started(await redrive.redrive(state, execution_id), state.settings.region)


@sync_router.post("/v1/state-machines/{name}/sync-executions")
async def start_sync_execution(
    name: str, body: schemas.SyncExecutionRequest, state: StateDep
) -> schemas.SyncExecutionResult:
    return await sync_executions.run(state, name, body)


@router.get("/v1/executions")
async def list_executions(
    session: SessionDep,
    settings: SettingsDep,
    state_machine: Annotated[str | None, Query(alias="stateMachine")] = None,
    status: Annotated[schemas.Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
    started_after: Annotated[datetime | None, Query(alias="startedAfter")] = None,
    started_before: Annotated[datetime | None, Query(alias="startedBefore")] = None,
) -> schemas.ExecutionList:
    return await service.list_page(
        session, limit, next_token, state_machine, status, settings.region, (started_after, started_before)
    )


@router.get("/v1/execution-counts")
async def count_executions(
    session: SessionDep, state_machine: Annotated[str | None, Query(alias="stateMachine")] = None
) -> schemas.ExecutionCounts:
    return await service.counts(session, state_machine)


@router.get("/v1/executions/{execution_id}", response_model=schemas.ExecutionPublic)
async def describe_execution(execution_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    return await service.describe(session, execution_id, settings.region)


@router.get("/v1/executions/{execution_id}/history", response_model=schemas.History)
async def get_execution_history(
    execution_id: str,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
    reverse_order: Annotated[bool, Query(alias="reverseOrder")] = False,
) -> Response:
    return await service.history(state, execution_id, limit, next_token, reverse_order)


@router.get("/v1/executions/{execution_id}/events", response_class=StreamingResponse)
async def stream_execution_events(
    execution_id: str,
    state: StateDep,
    after: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Server-Sent Events: the events after ``after`` (or ``Last-Event-ID``), new ones as they are
    recorded, then a ``status`` event once the execution has ended (docs/console-api.md)."""
    start = live.resume_point(last_event_id, after)
    body = await live.open_execution_events(state, execution_id, start)
    return StreamingResponse(body, media_type="text/event-stream", headers=live.STREAM_HEADERS)


EventId = Annotated[int, Path(alias="eventId", ge=1, le=2**31 - 1)]


@router.get("/v1/executions/{execution_id}/states/{eventId}/steps")
async def state_steps(
    execution_id: str,
    event_id: EventId,
    state: StateDep,
    level: Annotated[InspectionLevel, Query(alias="inspectionLevel")] = "DEBUG",
) -> console_schemas.StateSteps:
    """The state entered at event ``eventId``: its data after each processing stage."""
    return await inspection.steps(state, execution_id, event_id, level)


@router.get("/v1/executions/{execution_id}/states/{eventId}/iterations")
async def state_iterations(
    execution_id: str,
    event_id: EventId,
    state: StateDep,
    status: Annotated[console_schemas.IterationStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> console_schemas.IterationList:
    """A Map's iterations (or a Parallel's branches) by index."""
    return await inspection.iterations_page(state, execution_id, event_id, status, limit, next_token)


@router.get("/v1/executions/{execution_id}/states/{eventId}/iterations/{index}/events")
async def iteration_events(
    execution_id: str,
    event_id: EventId,
    index: Annotated[int, Path(ge=0, le=2**31 - 1)],
    state: StateDep,
) -> console_schemas.IterationEvents:
    return await inspection.iteration_events(state, execution_id, event_id, index)


@router.get("/v1/executions/{execution_id}/cost")
async def execution_cost(execution_id: str, state: StateDep) -> console_schemas.CostEstimate:
    """An estimate in AWS Step Functions' price model (us-east-1)."""
    return await costs.execution_cost(state, execution_id)


@router.post("/v1/executions/{execution_id}/stop")
async def stop_execution(
    execution_id: str, body: schemas.StopExecution, state: StateDep
) -> schemas.StopResult:
    return await service.stop(state, execution_id, body)
