"""A db proxy's live pool figures: this process's pool while a function holds a connection through it,
and other processes' pools from their reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.registry.pool_reports import DbProxyPoolReport, report
from tests.integration.helpers import unique

CODE = """
import stepline_db

db = None

def handler(event, context):
    global db
    if db is None:
        db = stepline_db.connect()  # kept: the pool lends it for as long as the environment lives
    return db.query('SELECT 21 * 2 AS x')[0]['x']
"""


async def test_pool_figures_of_a_proxy_in_use(console: httpx.AsyncClient, database_url: str) -> None:
    proxy = unique("pool")
    body = {"name": proxy, "targetUrl": database_url, "poolSize": 3}
    assert (await console.post("/v1/db-proxies", json=body)).status_code == 201
    idle = (await console.get(f"/v1/db-proxies/{proxy}/status")).json()
    assert idle["poolSize"] == 3 and idle["processes"] == []
    assert idle["totals"] == {"open": 0, "busy": 0, "idle": 0, "waiters": 0}

    function = unique("uses-pool")
    created = await console.post(
        "/v1/functions",
        json={"name": function, "runtime": "python3.11", "handler": "app.handler",
              "code": {"files": {"app.py": CODE}}, "dbProxies": [proxy]},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    invoked = await console.post(f"/v1/functions/{function}/invocations", json={})
    assert invoked.status_code == 200 and invoked.json() == 42, invoked.text
    status = (await console.get(f"/v1/db-proxies/{proxy}/status")).json()
    (pool,) = status["processes"]  # this API process runs functions, so it runs the pool
    assert pool["size"] == 3 and pool["open"] >= 1 and pool["borrows"] >= 1
    assert pool["busy"] + pool["idle"] <= pool["open"] and pool["waiters"] == 0
    assert status["totals"] == {k: pool[k] for k in ("open", "busy", "idle", "waiters")}
    assert (await console.get("/v1/db-proxies/no-such-proxy/status")).status_code == 404


async def test_pools_of_other_processes_come_from_their_reports(
    console: httpx.AsyncClient, database_url: str
) -> None:
    proxy = unique("remote")
    body = {"name": proxy, "targetUrl": database_url, "poolSize": 8}
    assert (await console.post("/v1/db-proxies", json=body)).status_code == 201
    engine = create_engine(database_url, pool_size=1)
    try:
        sessions = session_maker(engine)
        now = datetime.now(UTC)
        pools = [
            DbProxyPoolReport(proxy_name=proxy, process=f"worker-{n}:1", size=8, open=n + 1, busy=n, idle=1,
                              waiters=n, borrows=10, borrow_timeouts=0, reported_at=now)
            for n in range(2)
        ]  # fmt: skip
        async with unit_of_work(sessions) as session:
            await report(session, "worker-0:1", pools[:1])
            await report(session, "worker-1:1", pools[1:])
            stale = DbProxyPoolReport(**{**pools[0].model_dump(), "process": "dead:1",
                                         "reported_at": now - timedelta(minutes=5)})  # fmt: skip
            await report(session, "dead:1", [stale])
        status = (await console.get(f"/v1/db-proxies/{proxy}/status")).json()
        assert [p["process"] for p in status["processes"]] == ["worker-0:1", "worker-1:1"]  # not the dead one
        assert status["totals"] == {"open": 3, "busy": 1, "idle": 2, "waiters": 1}
        async with unit_of_work(sessions) as session:
            await report(session, "worker-1:1", [])  # that worker stopped: its rows go
        status = (await console.get(f"/v1/db-proxies/{proxy}/status")).json()
        assert [p["process"] for p in status["processes"]] == ["worker-0:1"]
    finally:
        await engine.dispose()
