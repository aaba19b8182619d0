# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""Way 1: the bundled Python and Node.js clients through the proxy's JSON socket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.integration.dbproxy.test_wire import proxy, socket_dir, target_url  # noqa: F401
from workers.dbproxy.proxy import NATIVE_SOCKET, Proxy

pytestmark = pytest.mark.integration

SANDBOX_LIB = Path(__file__).resolve().parents[3] / "workers" / "sandbox_lib"
sys.path.insert(0, str(SANDBOX_LIB / "python"))
import stepline_db  # noqa: E402


@pytest.fixture
async def table(target_url: str) -> str:
    conn = await asyncpg.connect(target_url)
    await conn.execute(
        "DROP TABLE IF EXISTS items; CREATE TABLE items (id int PRIMARY KEY, name text, tags text[],"
        " price numeric(10,2), doc jsonb, seen timestamptz DEFAULT '2026-01-02T03:04:05Z')"
    )
    await conn.close()
    return "items"


def socket_of(proxy: Proxy) -> str:
    return str(proxy.directory / NATIVE_SOCKET)


async def test_python_client_queries_with_parameters_and_gets_json_values(proxy: Proxy, table: str) -> None:
    def work() -> list[dict[str, Any]]:
        with stepline_db.Connection(socket_of(proxy)) as db:
            inserted = db.execute(
                "INSERT INTO items (id, name, tags, price, doc) VALUES ($1, $2, $3, $4, $5)",
                [1, "pen", ["a", "b,c"], 2.5, {"k": [1, None]}],
            )
            assert (inserted.row_count, inserted.command) == (1, "INSERT 0 1")
            db.query("INSERT INTO items (id, name) VALUES ($1, $2)", [2, None])
            return db.query("SELECT id, name, tags, price, doc, seen, id > 1 AS later FROM items ORDER BY id")

    rows = await asyncio.to_thread(work)
    assert rows == [
        {
            "id": 1,
            "name": "pen",
            "tags": ["a", "b,c"],
            "price": 2.5,
            "doc": {"k": [1, None]},
            "seen": "2026-01-02 03:04:05+00",
            "later": False,
        },
        {
            "id": 2,
            "name": None,
            "tags": None,
            "price": None,
            "doc": None,
            "seen": "2026-01-02 03:04:05+00",
            "later": True,
        },
    ]


async def test_python_client_transactions_commit_and_roll_back(proxy: Proxy, table: str) -> None:
    def work() -> list[dict[str, Any]]:
        with stepline_db.Connection(socket_of(proxy)) as db:
            with db.transaction():
                db.query("INSERT INTO items (id, name) VALUES (10, 'kept')")
            with pytest.raises(RuntimeError), db.transaction():
                db.query("INSERT INTO items (id, name) VALUES (11, 'dropped')")
                raise RuntimeError("handler failed")
            return db.query("SELECT id FROM items WHERE id >= 10 ORDER BY id")

    assert await asyncio.to_thread(work) == [{"id": 10}]


async def test_python_client_gets_postgres_errors(proxy: Proxy, table: str) -> None:
    def work() -> None:
        with stepline_db.Connection(socket_of(proxy)) as db:
            db.query("INSERT INTO items (id) VALUES (1)")
            with pytest.raises(stepline_db.DatabaseError) as duplicate:
                db.query("INSERT INTO items (id) VALUES ($1)", [1])
            assert duplicate.value.code == "23505"
            assert duplicate.value.details["constraint"] == "items_pkey"
            with pytest.raises(stepline_db.DatabaseError) as syntax:
                db.query("SELEC")
            assert syntax.value.code == "42601"
            with pytest.raises(stepline_db.DatabaseError, match="takes 1 parameters, not 0"):
                db.query("SELECT $1::int")
            assert db.query("SELECT 1 AS one") == [{"one": 1}]

    await asyncio.to_thread(work)


async def test_python_clients_many_threads_share_the_pool(proxy: Proxy, table: str) -> None:
    def one(i: int) -> int:
        with stepline_db.Connection(socket_of(proxy)) as db, db.transaction():
            db.query("INSERT INTO items (id, name) VALUES ($1, $2)", [100 + i, f"n{i}"])
            return int(db.query("SELECT count(*) AS n FROM items WHERE id = $1", [100 + i])[0]["n"])

    def run() -> list[int]:
        with ThreadPoolExecutor(50) as pool:
            return list(pool.map(one, range(200)))

    assert await asyncio.to_thread(run) == [1] * 200
    assert proxy.pool.stats().open <= proxy.config.size


NODE_SCRIPT = """
const { Connection } = require('stepline-db');
(async () => {
  const db = new Connection(process.argv[1]);
  const out = {};
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO items (id, name, doc) VALUES ($1, $2, $3)', [7, 'node', { n: 1 }]);
  });
  try { await db.transaction(async (tx) => {
    await tx.query("INSERT INTO items (id, name) VALUES (8, 'gone')"); throw new Error('boom'); });
  } catch (e) { out.rolledBack = e.message; }
  out.rows = await db.query('SELECT id, name, doc FROM items WHERE id IN (7, 8)');
  try { await db.query('SELECT * FROM nowhere'); } catch (e) { out.code = e.code; out.name = e.name; }
  db.close();
  console.log(JSON.stringify(out));
})();
"""


async def test_node_client_queries_and_transactions(proxy: Proxy, table: str) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        ["node", "-e", NODE_SCRIPT, socket_of(proxy)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"NODE_PATH": str(SANDBOX_LIB / "node"), "PATH": "/usr/bin:/usr/local/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "rolledBack": "boom",
        "rows": [{"id": 7, "name": "node", "doc": {"n": 1}}],
        "code": "42P01",
        "name": "DatabaseError",
    }
