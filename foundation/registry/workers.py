"""Live workers and where their invoke endpoints listen: how an API process finds a worker to hand a
direct invocation to (``api.runtime.remote``).

A worker registers at start, refreshes ``heartbeat_at`` every few seconds and removes its row when it
stops cleanly; a row whose heartbeat is older than ``stale_seconds`` is a worker that died (or hangs)
and is ignored, then removed by the next worker that starts. Times are the database's own
(``now()``), so hosts with skewed clocks agree on who is live. Repositories never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, String, Text, delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)

FORGET_AFTER_SECONDS = 3600.0
"""Rows of workers silent for this long are removed (by the next worker that registers)."""


class WorkerEndpoint(SQLModel, table=True):
    """One running worker's invoke endpoint."""

    __tablename__ = "worker_endpoint"

    id: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))
    host: str = Field(sa_column=Column(String(255), nullable=False))
    """The machine it runs on (host name and boot id): an API on the same one may use ``unix_path``."""
    unix_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    tcp_address: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    """``host:port`` reachable from other machines, when the worker listens on TCP too."""
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    heartbeat_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


async def register(
    session: AsyncSession, worker_id: str, host: str, unix_path: str | None, tcp_address: str | None, pid: int
) -> None:
    """Add (or refresh) this worker's row, and drop the rows of workers long gone."""
    await session.exec(
        delete(WorkerEndpoint).where(col(WorkerEndpoint.heartbeat_at) < _ago(FORGET_AFTER_SECONDS))
    )
    fields = {"host": host, "unix_path": unix_path, "tcp_address": tcp_address, "pid": pid}
    await session.exec(
        insert(WorkerEndpoint)
        .values(id=worker_id, started_at=func.now(), heartbeat_at=func.now(), **fields)
        .on_conflict_do_update(index_elements=["id"], set_={**fields, "heartbeat_at": func.now()})
    )


async def heartbeat(session: AsyncSession, worker_id: str) -> bool:
    """Mark the worker alive now; False when its row is gone (the caller registers again)."""
    result = await session.exec(
        update(WorkerEndpoint)
        .where(col(WorkerEndpoint.id) == worker_id)
        .values(heartbeat_at=func.now())
        .returning(col(WorkerEndpoint.id))
    )
    return result.first() is not None


async def unregister(session: AsyncSession, worker_id: str) -> None:
    await session.exec(delete(WorkerEndpoint).where(col(WorkerEndpoint.id) == worker_id))


async def listed(session: AsyncSession, stale_seconds: float) -> list[tuple[WorkerEndpoint, bool]]:
    """Every registered worker, oldest first, and whether its last heartbeat is at most
    ``stale_seconds`` old (a listed worker that is not fresh died or hangs; one that stopped cleanly
    is not listed)."""
    fresh = (col(WorkerEndpoint.heartbeat_at) > _ago(stale_seconds)).label("fresh")
    query = select(WorkerEndpoint, fresh).order_by(col(WorkerEndpoint.started_at), col(WorkerEndpoint.id))
    return [(row, bool(is_fresh)) for row, is_fresh in (await session.exec(query)).all()]


def _ago(seconds: float) -> ColumnElement[datetime]:
    """The database's ``now()`` minus ``seconds``."""
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)
