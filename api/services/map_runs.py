"""Map runs of Distributed Map states: read (DescribeMapRun, ListMapRuns, ``/v1``) from the rows the
workflow writes (``workers.map_run_activities``). A run still RUNNING whose execution has ended
(stopped, timed out: the workflow wrote no end) reads as ABORTED, its running and pending child
runs as aborted. UpdateMapRun reaches the running
execution's workflow as a Temporal update (durable: the new settings are in its history)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.state import AppState
from foundation.errors import InvalidRequest, Unavailable
from foundation.registry import executions as execution_registry
from foundation.registry import map_runs as registry
from foundation.registry.database import unit_of_work
from foundation.registry.map_runs import MapRun
from statemachine import execution_arn, stopped_counts
from workers.contracts import MAP_RUN_NOT_RUNNING, UPDATE_MAP_RUN, MapRunUpdateRequest

UPDATE_WAIT_SECONDS = 10.0


def _execution_id(arn: str) -> str:
    """The registry id of the execution an ARN (``...:execution:MACHINE:NAME``) names."""
    machine, name = arn.split(":")[6:8]
    return execution_registry.execution_id(machine, name)


def _with_all_counts(counts: dict[str, Any]) -> dict[str, Any]:
    """Every count field AWS answers (a row written before ``failuresNotRedrivable`` and
    ``pendingRedrive`` existed has neither: 0)."""
    return {"failuresNotRedrivable": 0, "pendingRedrive": 0, **counts}


async def _settled(session: AsyncSession, run: MapRun) -> MapRun:
    """``run`` as both doors answer it: every count field present, and ABORTED when its execution
    ended without the workflow writing the run's end."""
    item_counts, execution_counts = run.item_counts, run.execution_counts
    update: dict[str, Any] = {}
    if run.status == "RUNNING":
        execution = await execution_registry.get_execution(session, _execution_id(run.execution_id))
        if execution.status != "RUNNING":
            update = {"status": "ABORTED", "stop_date": execution.stop_date}
            item_counts, execution_counts = stopped_counts(item_counts), stopped_counts(execution_counts)
    update["item_counts"] = _with_all_counts(item_counts)
    update["execution_counts"] = _with_all_counts(execution_counts)
    return run.model_copy(update=update)


async def describe(session: AsyncSession, arn: str) -> MapRun:
    """The map run ``arn``; MapRunNotFound otherwise."""
    return await _settled(session, await registry.get_map_run(session, arn))


async def list_for_execution(
    session: AsyncSession, execution_id: str, region: str, after: str | None, limit: int
) -> tuple[str, Sequence[MapRun]]:
    """An execution's ARN and its map runs (a page after ``after``); ExecutionNotFound when the
    execution does not exist."""
    row = await execution_registry.get_execution(session, execution_id)
    arn = execution_arn(row.state_machine_name, row.name, region)
    rows = await registry.list_map_runs(session, arn, after, limit)
    return arn, [await _settled(session, run) for run in rows]


async def update(state: AppState, request: MapRunUpdateRequest) -> MapRun:
    """UpdateMapRun: new MaxConcurrency / tolerance for a running map run's remaining iterations;
    MapRunNotFound, or InvalidRequest when the values are out of range or the run is not running."""
    _check_values(request)
    arn = request.map_run_arn
    async with unit_of_work(state.sessions) as session:
        run = await describe(session, arn)
    if run.status != "RUNNING":
        raise InvalidRequest(f"Map run is not running: {arn} is {run.status}")
    handle: WorkflowHandle[Any, Any] = state.temporal.get_workflow_handle(_execution_id(run.execution_id))
    try:
        await asyncio.wait_for(handle.execute_update(UPDATE_MAP_RUN, request), UPDATE_WAIT_SECONDS)
    except TimeoutError:
        raise Unavailable("the map run's worker did not take the update in time; retry") from None
    except WorkflowUpdateFailedError as exc:
        if isinstance(exc.cause, ApplicationError) and exc.cause.type == MAP_RUN_NOT_RUNNING:
            raise InvalidRequest(exc.cause.message or f"Map run is not running: {arn}") from None
        raise
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise Unavailable(f"Temporal did not take the update: {exc.message}") from exc
        raise InvalidRequest(f"Map run is not running: {arn}") from None
    changes = {
        "max_concurrency": request.max_concurrency,
        "tolerated_failure_count": request.tolerated_failure_count,
        "tolerated_failure_percentage": request.tolerated_failure_percentage,
    }
    async with unit_of_work(state.sessions) as session:
        return await registry.update_settings(
            session, arn, {k: v for k, v in changes.items() if v is not None}
        )


def _check_values(request: MapRunUpdateRequest) -> None:
    """AWS's ranges: counts at least 0, the percentage within 0-100."""
    for name, value in (
        ("maxConcurrency", request.max_concurrency),
        ("toleratedFailureCount", request.tolerated_failure_count),
    ):
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidRequest(f"{name} must be a non-negative integer, but was: {value}")
    percentage = request.tolerated_failure_percentage
    if percentage is not None and not 0 <= percentage <= 100:
        raise InvalidRequest(f"toleratedFailurePercentage must be between 0 and 100, but was: {percentage}")
