"""A db proxy's live pool figures while a function holds a connection through it."""

from __future__ import annotations

import httpx

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
    assert idle["poolSize"] == 3 and idle["runningHere"] is False and idle["pool"] is None
    assert "/metrics" in idle["note"]

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
    assert status["runningHere"] is True
    pool = status["pool"]
    assert pool["size"] == 3 and pool["open"] >= 1 and pool["borrows"] >= 1
    assert pool["busy"] + pool["idle"] <= pool["open"] and pool["waiters"] == 0
    assert (await console.get("/v1/db-proxies/no-such-proxy/status")).status_code == 404
