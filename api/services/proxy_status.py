"""A db proxy's live pool figures, from the pools this process runs.

Pools live where functions run: in the API process under ``stepline dev`` (its in-process runtime),
in the worker processes otherwise, each exporting its figures at its own ``/metrics``
(``stepline_dbproxy_*``, ``workers.dbproxy.metrics``). This answers with this process's pool.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from api import resource_schemas as schemas
from foundation.registry import resources as registry
from workers.attachments import running_proxies

HERE = "this process's pool (it runs functions: stepline dev)"
ELSEWHERE = (
    "this process runs no pool of this proxy: pools run where functions run (the workers, or here once "
    "a function attached to it has started); each worker's /metrics has stepline_dbproxy_* per proxy"
)


async def db_proxy_status(session: AsyncSession, name: str) -> schemas.DbProxyStatus:
    proxy = await registry.get_db_proxy(session, name)
    manager = running_proxies()
    stats = manager.stats().get(name) if manager is not None else None
    pool = None
    if stats is not None:
        pool = schemas.PoolFigures(
            size=stats.size, open=stats.open, busy=stats.busy, idle=stats.idle, waiters=stats.waiting,
            borrows=stats.borrows, borrow_timeouts=stats.borrow_timeouts,
        )  # fmt: skip
    return schemas.DbProxyStatus(
        name=name,
        pool_size=proxy.pool_size,
        running_here=pool is not None,
        pool=pool,
        note=HERE if pool is not None else ELSEWHERE,
    )
