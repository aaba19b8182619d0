# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""Prometheus metrics of the pools: connections open/busy, waiters, borrows and timeouts, queries."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from tests.integration.dbproxy.test_manager import Registry
from tests.integration.dbproxy.test_wire import target_url  # noqa: F401
from workers.dbproxy import metrics
from workers.dbproxy.manager import ProxyManager, ProxySpec

pytestmark = pytest.mark.integration


async def test_pool_figures_are_exported_per_proxy(target_url: str) -> None:
    registry = Registry()
    registry.specs["m"] = ProxySpec("m", target_url, pool_size=1, borrow_timeout=0.3)
    root = Path(tempfile.mkdtemp(prefix="sl-met-")) / "db-1"
    manager = ProxyManager(root, registry.load)
    prometheus = CollectorRegistry()
    metrics.track(manager, prometheus)

    def sample(name: str) -> float | None:
        return prometheus.get_sample_value(name, {"proxy": "m"})

    try:
        proxy = await manager.ensure("m")
        holder = await asyncpg.connect(host=str(proxy.directory), user="fn", database="x")
        other = await asyncpg.connect(host=str(proxy.directory), user="fn", database="x")
        for i in range(5):
            assert await holder.fetchval("SELECT $1::int", i) == i
        transaction = holder.transaction()
        await transaction.start()  # pins the only connection
        assert sample("stepline_dbproxy_connections_busy") == 1
        assert sample("stepline_dbproxy_connections_open") == 1
        waiting = asyncio.create_task(other.fetchval("SELECT 1"))
        await asyncio.sleep(0.1)
        assert sample("stepline_dbproxy_waiters") == 1
        with pytest.raises(asyncpg.TooManyConnectionsError):
            await waiting
        await transaction.rollback()
        assert sample("stepline_dbproxy_borrow_timeouts_total") == 1
        assert sample("stepline_dbproxy_waiters") == 0
        assert sample("stepline_dbproxy_connections_busy") == 0
        assert sample("stepline_dbproxy_connections_idle") == 1
        assert sample("stepline_dbproxy_pool_size") == 1
        queries = sample("stepline_dbproxy_queries_total")
        assert queries is not None and queries >= 7  # 5 selects, BEGIN, ROLLBACK (+ asyncpg's own)
        borrows = sample("stepline_dbproxy_borrows_total")
        assert borrows is not None and borrows >= 6
        await holder.close()
        await other.close()
    finally:
        await manager.close()
        shutil.rmtree(root.parent, ignore_errors=True)
    assert sample("stepline_dbproxy_connections_open") is None  # stopped proxies are no longer shown
