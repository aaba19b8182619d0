"""Map runs of Distributed Map states (``map_run``): one row per run, written by the workflow when
the run starts, while it runs and when it ends (``workers.map_run_activities``), read by
DescribeMapRun and ListMapRuns; and the outputs of the child runs that succeeded in a run the
parent ran itself (``map_run_output``), which a redrive does not run again.

Repositories take a session and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Float, Integer, String, Text, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import NotFound


class MapRun(SQLModel, table=True):
    """One map run and its latest counts."""

    __tablename__ = "map_run"

    map_run_arn: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    execution_id: str = Field(sa_column=Column(Text, nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    start_date: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    stop_date: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    max_concurrency: int = Field(sa_column=Column(Integer, nullable=False))
    tolerated_failure_count: int = Field(sa_column=Column(Integer, nullable=False))
    tolerated_failure_percentage: float = Field(sa_column=Column(Float, nullable=False))
    item_counts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    execution_counts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    execution_type: str = Field(
        default="STANDARD", sa_column=Column(String(16), nullable=False, server_default="STANDARD")
    )
    """``ProcessorConfig.ExecutionType`` of its child runs."""
    redrive_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    """How often the run was redriven (with its execution)."""
    redrive_date: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    """When it was last redriven."""


class MapRunOutput(SQLModel, table=True):
    """One child run's output (JSON text), by the execution, its top-level Map state and the index."""

    __tablename__ = "map_run_output"

    execution_arn: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    state_name: str = Field(sa_column=Column(Text, primary_key=True, nullable=False))
    item_index: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False, autoincrement=False))
    output: str = Field(sa_column=Column(Text, nullable=False))


async def keep_outputs(
    session: AsyncSession, execution_arn: str, state_name: str, outputs: dict[int, Any], forget: bool
) -> None:
    """Keep child runs' outputs (``forget``: drop the state's earlier ones first); idempotent."""
    where = (col(MapRunOutput.execution_arn) == execution_arn) & (col(MapRunOutput.state_name) == state_name)
    if forget:
        await session.exec(delete(MapRunOutput).where(where))
    if not outputs:
        return
    rows = [
        {"execution_arn": execution_arn, "state_name": state_name, "item_index": i, "output": json.dumps(v)}
        for i, v in outputs.items()
    ]
    statement = insert(MapRunOutput).values(rows)
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["execution_arn", "state_name", "item_index"],
            set_={"output": statement.excluded.output},
        )
    )


async def kept_outputs(session: AsyncSession, execution_arn: str, state_name: str) -> dict[int, Any]:
    """The outputs kept for the execution's Map state ``state_name``, by index."""
    query = select(MapRunOutput).where(
        col(MapRunOutput.execution_arn) == execution_arn, col(MapRunOutput.state_name) == state_name
    )
    return {row.item_index: json.loads(row.output) for row in (await session.exec(query)).all()}


class MapRunNotFound(NotFound):
    """No such map run."""

    def __init__(self, arn: str) -> None:
        super().__init__(f"Map run does not exist: {arn}")


async def save_map_run(session: AsyncSession, run: MapRun) -> None:
    """Insert or update (a retried report writes the same values again); a run's start date is
    the one it was first written with (a redrive continues the run: ``redrive_date``)."""
    values = run.model_dump()
    statement = insert(MapRun).values(**values)
    changed = {k: statement.excluded[k] for k in values if k not in ("map_run_arn", "start_date")}
    await session.exec(statement.on_conflict_do_update(index_elements=["map_run_arn"], set_=changed))


async def update_settings(session: AsyncSession, arn: str, changes: dict[str, Any]) -> MapRun:
    """UpdateMapRun's new settings on the row (the workflow's next report carries them too)."""
    run = await get_map_run(session, arn)
    for key, value in changes.items():
        setattr(run, key, value)
    session.add(run)
    await session.flush()
    return run


async def get_map_run(session: AsyncSession, arn: str) -> MapRun:
    found = await session.get(MapRun, arn)
    if found is None:
        raise MapRunNotFound(arn)
    return found


async def list_map_runs(
    session: AsyncSession, execution_id: str, after: str | None, limit: int
) -> Sequence[MapRun]:
    """An execution's map runs, oldest first, after the ARN ``after`` (a page token)."""
    query = select(MapRun).where(col(MapRun.execution_id) == execution_id)
    if after is not None:
        query = query.where(col(MapRun.map_run_arn) > after)
    return (await session.exec(query.order_by(col(MapRun.map_run_arn)).limit(limit))).all()
