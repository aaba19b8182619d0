"""Map runs of Distributed Map states: read (DescribeMapRun, ListMapRuns) from the rows the workflow
writes (``workers.map_run_activities``). A run still RUNNING whose execution has ended (stopped,
timed out: the workflow wrote no end) reads as ABORTED."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import executions as execution_registry
from foundation.registry import map_runs as registry
from foundation.registry.map_runs import MapRun


async def _settled(session: AsyncSession, run: MapRun, execution_id: str) -> MapRun:
    if run.status != "RUNNING":
        return run
    execution = await execution_registry.get_execution(session, execution_id)
    if execution.status == "RUNNING":
        return run
    return run.model_copy(update={"status": "ABORTED", "stop_date": execution.stop_date})


async def describe(session: AsyncSession, arn: str, execution_id: str) -> MapRun:
    """The map run ``arn`` of the execution (registry id) ``execution_id``; MapRunNotFound otherwise."""
    return await _settled(session, await registry.get_map_run(session, arn), execution_id)


async def list_for_execution(
    session: AsyncSession, execution_arn: str, execution_id: str, after: str | None, limit: int
) -> Sequence[MapRun]:
    """An execution's map runs (it must exist: ExecutionNotFound otherwise), a page after ``after``."""
    await execution_registry.get_execution(session, execution_id)
    rows = await registry.list_map_runs(session, execution_arn, after, limit)
    return [await _settled(session, row, execution_id) for row in rows]
