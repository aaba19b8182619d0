"""Routes for map runs: the ``/v1`` door to ``api.services.map_runs``.

GET /v1/executions/{execution_id}/map-runs   ?limit&nextToken -> {mapRuns, nextToken}
GET /v1/map-runs                             ?mapRunArn -> the map run, with its counts
PATCH /v1/map-runs                           ?mapRunArn {maxConcurrency?, toleratedFailureCount?,
                                             toleratedFailurePercentage?} -> the map run (running only)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from api.deps import StateDep
from api.json_input import JsonRoute
from api.schemas import Schema
from api.services import map_runs as service
from foundation.errors import InvalidRequest
from foundation.registry.database import unit_of_work
from foundation.registry.map_runs import MapRun
from workers.contracts import MapRunUpdateRequest

router = APIRouter(tags=["map runs"], route_class=JsonRoute)


class MapRunPublic(Schema):
    map_run_arn: str
    execution_arn: str
    status: str
    start_date: datetime
    stop_date: datetime | None = None
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    item_counts: dict[str, int]
    execution_counts: dict[str, int]
    execution_type: str
    redrive_count: int = 0
    redrive_date: datetime | None = None


class MapRunList(Schema):
    map_runs: list[MapRunPublic]
    next_token: str | None = None


class MapRunChange(Schema):
    max_concurrency: int | None = Field(default=None, ge=0)
    tolerated_failure_count: int | None = Field(default=None, ge=0)
    tolerated_failure_percentage: float | None = Field(default=None, ge=0, le=100)


def _public(run: MapRun) -> MapRunPublic:
    return MapRunPublic(
        map_run_arn=run.map_run_arn,
        execution_arn=run.execution_id,
        status=run.status,
        start_date=run.start_date,
        stop_date=run.stop_date,
        max_concurrency=run.max_concurrency,
        tolerated_failure_count=run.tolerated_failure_count,
        tolerated_failure_percentage=run.tolerated_failure_percentage,
        item_counts=run.item_counts,
        execution_counts=run.execution_counts,
        execution_type=run.execution_type,
        redrive_count=run.redrive_count,
        redrive_date=run.redrive_date,
    )


@router.get("/v1/executions/{execution_id}/map-runs", response_model=MapRunList)
async def list_map_runs(
    execution_id: str,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=2048)] = None,
) -> MapRunList:
    async with unit_of_work(state.sessions) as session:
        _, rows = await service.list_for_execution(
            session, execution_id, state.settings.region, next_token, limit + 1
        )
    page = rows[:limit]
    token = page[-1].map_run_arn if len(rows) > limit else None
    return MapRunList(map_runs=[_public(r) for r in page], next_token=token)


@router.get("/v1/map-runs", response_model=MapRunPublic)
async def describe_map_run(
    state: StateDep, map_run_arn: Annotated[str, Query(alias="mapRunArn", min_length=1, max_length=2048)]
) -> MapRunPublic:
    async with unit_of_work(state.sessions) as session:
        return _public(await service.describe(session, map_run_arn))


@router.patch("/v1/map-runs", response_model=MapRunPublic)
async def update_map_run(
    state: StateDep,
    map_run_arn: Annotated[str, Query(alias="mapRunArn", min_length=1, max_length=2048)],
    body: MapRunChange,
) -> MapRunPublic:
    """UpdateMapRun: the settings take effect on the iterations not started yet."""
    if (body.max_concurrency, body.tolerated_failure_count, body.tolerated_failure_percentage) == (None,) * 3:
        raise InvalidRequest(
            "Give at least one of maxConcurrency, toleratedFailureCount, toleratedFailurePercentage"
        )
    request = MapRunUpdateRequest(
        map_run_arn, body.max_concurrency, body.tolerated_failure_count, body.tolerated_failure_percentage
    )
    return _public(await service.update(state, request))
