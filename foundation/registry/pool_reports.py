"""Each process's db proxy pools as it last reported them (``db_proxy_pool_report``).

A pool lives in the process that runs it (the API under ``stepline dev``, each worker otherwise);
``workers.pool_reports`` upserts one row per (proxy, process) every few seconds and deletes its rows
when the process stops, so the API can show every pool of a proxy. A row not refreshed for
``FRESH_FOR`` belongs to a process that died: it is left out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Column, DateTime, delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)

FRESH_FOR = timedelta(seconds=30)


class DbProxyPoolReport(SQLModel, table=True):
    """One process's pool of one proxy."""

    __tablename__ = "db_proxy_pool_report"

    proxy_name: str = Field(primary_key=True, max_length=64)
    process: str = Field(primary_key=True, max_length=200)
    """``host:pid``."""
    size: int
    open: int
    busy: int
    idle: int
    waiters: int
    borrows: int = Field(sa_column=Column(BigInteger, nullable=False))
    borrow_timeouts: int = Field(sa_column=Column(BigInteger, nullable=False))
    reported_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


async def report(session: AsyncSession, process: str, pools: list[DbProxyPoolReport]) -> None:
    """Replace ``process``'s rows with ``pools`` (one statement each way)."""
    running = [p.proxy_name for p in pools]
    await session.exec(
        delete(DbProxyPoolReport).where(
            col(DbProxyPoolReport.process) == process, col(DbProxyPoolReport.proxy_name).not_in(running)
        )
    )
    if pools:
        statement = insert(DbProxyPoolReport).values([p.model_dump() for p in pools])
        columns = {
            c: statement.excluded[c] for c in pools[0].model_dump() if c not in ("proxy_name", "process")
        }
        await session.exec(
            statement.on_conflict_do_update(index_elements=["proxy_name", "process"], set_=columns)
        )


async def fresh_reports(session: AsyncSession, proxy_name: str, now: datetime) -> list[DbProxyPoolReport]:
    """The pools of ``proxy_name`` reported within ``FRESH_FOR`` of ``now``, by process."""
    query = (
        select(DbProxyPoolReport)
        .where(
            DbProxyPoolReport.proxy_name == proxy_name, col(DbProxyPoolReport.reported_at) >= now - FRESH_FOR
        )
        .order_by(col(DbProxyPoolReport.process))
    )
    return list((await session.exec(query)).all())
