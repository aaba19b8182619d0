# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""The proxies of a process: started on first use, idle connections closed, registry changes followed."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from tests.integration.dbproxy.test_wire import server_connections, target_url  # noqa: F401
from workers.dbproxy.manager import ProxyManager, ProxySpec

pytestmark = pytest.mark.integration


class Registry:
    """Stands in for the registry table: what ``load`` returns, changed by the test."""

    def __init__(self) -> None:
        self.specs: dict[str, ProxySpec] = {}

    async def load(self, name: str) -> ProxySpec:
        try:
            return self.specs[name]
        except KeyError:
            raise LookupError(f"db proxy {name!r} does not exist") from None


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Poll ``check`` every 0.1 s until it holds; AssertionError after ``seconds``."""
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
async def manager() -> AsyncIterator[tuple[ProxyManager, Registry]]:
    registry = Registry()
    root = Path(tempfile.mkdtemp(prefix="sl-mgr-")) / "db-1"
    running = ProxyManager(root, registry.load)
    running.start_housekeeping(sync_every=1.0)
    yield running, registry
    await running.close()
    shutil.rmtree(root.parent, ignore_errors=True)


async def test_idle_connections_close_after_the_idle_timeout(
    manager: tuple[ProxyManager, Registry], target_url: str
) -> None:
    proxies, registry = manager
    registry.specs["idle"] = ProxySpec("idle", target_url, pool_size=3, idle_timeout=0.5)
    proxy = await proxies.ensure("idle")
    conn = await asyncpg.connect(host=str(proxy.directory), user="fn", database="x")
    assert await conn.fetchval("SELECT 1") == 1
    assert await server_connections(target_url, proxy.config.application_name) == 1

    async def closed() -> bool:  # idle past 0.5 s: closed by the pool's housekeeping
        return proxies.stats()["idle"].open == 0 and (
            await server_connections(target_url, proxy.config.application_name) == 0
        )

    await until(closed)
    assert await conn.fetchval("SELECT 2") == 2  # a new connection is opened on demand
    await conn.close()


async def test_changed_settings_are_followed_in_place_and_deleted_proxies_stop(
    manager: tuple[ProxyManager, Registry], target_url: str
) -> None:
    proxies, registry = manager
    registry.specs["orders"] = ProxySpec("orders", target_url, pool_size=2)
    first = await proxies.ensure("orders", allow_uid=4321)
    assert (await proxies.ensure("orders")) is first
    conn = await asyncpg.connect(host=str(first.directory), user="fn", database="x")
    assert await conn.fetchval("SELECT 3") == 3
    old_backend = await conn.fetchval("SELECT pg_backend_pid()")
    registry.specs["orders"] = ProxySpec("orders", target_url, pool_size=5, borrow_timeout=1.5)
    await proxies.sync()
    second = await proxies.ensure("orders")
    assert second is first and (second.config.size, second.pool.config.borrow_timeout) == (5, 1.5)
    assert 4321 in second.allowed_uids
    assert await conn.fetchval("SELECT 4") == 4  # the client stayed connected
    # Connections opened under the old settings were closed; new ones serve.
    assert await conn.fetchval("SELECT pg_backend_pid()") != old_backend
    await conn.close()
    del registry.specs["orders"]

    async def stopped() -> bool:  # housekeeping notices
        return "orders" not in proxies.stats() and not (second.directory / ".s.PGSQL.5432").exists()

    await until(stopped)
