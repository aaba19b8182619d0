"""Map runs of Distributed Map states: read (DescribeMapRun, ListMapRuns, ``/v1``) from the rows the
workflow writes (``workers.map_run_activities``). A run still RUNNING whose execution has ended
(stopped, timed out: the workflow wrote no end) reads as ABORTED."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import executions as execution_registry
from foundation.registry import map_runs as registry
from foundation.registry.map_runs import MapRun
from statemachine import execution_arn


def _execution_id(arn: str) -> str:
    """The registry id of the execution an ARN (``...:execution:MACHINE:NAME``) names."""
    machine, name = arn.split(":")[6:8]
    return execution_registry.execution_id(machine, name)


async def _settled(session: AsyncSession, run: MapRun) -> MapRun:
    if run.status != "RUNNING":
        return run
    execution = await execution_registry.get_execution(session, _execution_id(run.execution_id))
    if execution.status == "RUNNING":
        return run
    return run.model_copy(update={"status": "ABORTED", "stop_date": execution.stop_date})


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
