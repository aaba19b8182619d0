"""A db proxy's live pool figures: every process's pool, wherever it runs.

Pools live where functions run: in the API process under ``stepline dev``, in the worker processes
otherwise. Each process reports its pools every 5 s (``workers.pool_reports``); this process's own
pool is read live instead of from its report.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from api import resource_schemas as schemas
from foundation.registry import resources as registry
from foundation.registry.pool_reports import fresh_reports
from workers.pool_reports import PROCESS, current_pools


async def db_proxy_status(session: AsyncSession, name: str) -> schemas.DbProxyStatus:
    proxy = await registry.get_db_proxy(session, name)
    now = datetime.now(UTC)
    reported = {r.process: r for r in await fresh_reports(session, name, now)}
    for live in current_pools(now):
        if live.proxy_name == name:
            reported[PROCESS] = live
    processes = [
        schemas.ProcessPool(
            process=r.process, size=r.size, open=r.open, busy=r.busy, idle=r.idle, waiters=r.waiters,
            borrows=r.borrows, borrow_timeouts=r.borrow_timeouts, reported_at=r.reported_at,
        )
        for r in sorted(reported.values(), key=lambda r: r.process)
    ]  # fmt: skip
    totals = schemas.PoolTotals(
        open=sum(p.open for p in processes),
        busy=sum(p.busy for p in processes),
        idle=sum(p.idle for p in processes),
        waiters=sum(p.waiters for p in processes),
    )
    return schemas.DbProxyStatus(name=name, pool_size=proxy.pool_size, processes=processes, totals=totals)
