# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""node-postgres (``pg``), unchanged, through the proxy's PostgreSQL socket."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.dbproxy.test_wire import proxy, socket_dir, target_url  # noqa: F401
from workers.dbproxy.proxy import Proxy

pytestmark = pytest.mark.integration

CACHE = Path.home() / ".cache" / "stepline-tests" / "node-postgres"

SCRIPT = """
const { Client, Pool } = require('pg');
(async () => {
  const dir = process.argv[1];
  const c = new Client({ host: dir, user: 'fn', database: 'any' });
  await c.connect();
  const out = {};
  out.params = (await c.query('SELECT $1::int * 3 AS x, $2::text AS t', [7, 'hi'])).rows;
  out.named = [];
  for (let i = 0; i < 3; i++) {
    const r = await c.query({ name: 'triple', text: 'SELECT $1::int * 3 AS x', values: [i] });
    out.named.push(r.rows[0].x);
  }
  await c.query('BEGIN');
  await c.query('CREATE TEMP TABLE tt (x int)');
  await c.query('INSERT INTO tt VALUES (1)');
  out.inTransaction = (await c.query('SELECT count(*)::int AS n FROM tt')).rows[0].n;
  await c.query('ROLLBACK');
  try { await c.query('SELECT * FROM nope'); } catch (e) { out.code = e.code; }
  out.after = (await c.query('SELECT 5 AS five')).rows[0].five;
  await c.end();
  const pool = new Pool({ host: dir, user: 'fn', database: 'any', max: 40 });
  const all = await Promise.all([...Array(200).keys()].map(
    (i) => pool.query({ name: 'echo', text: 'SELECT $1::int AS v', values: [i] })));
  out.sum = all.reduce((a, r) => a + r.rows[0].v, 0);
  await pool.end();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """node-postgres from the npm registry, installed once into a cache directory."""
    if not (CACHE / "node_modules" / "pg").is_dir():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed")
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(CACHE), "pg@8"],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"node-postgres could not be installed: {done.stderr.strip()[:200]}")
    return CACHE / "node_modules"


async def test_node_postgres_queries_named_statements_transactions_and_a_pool(
    proxy: Proxy, node_modules: Path
) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        ["node", "-e", SCRIPT, str(proxy.directory)],
        capture_output=True, text=True, timeout=60,
        env={"NODE_PATH": str(node_modules), "PATH": "/usr/local/bin:/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "params": [{"x": 21, "t": "hi"}],
        "named": [0, 3, 6],
        "inTransaction": 1,
        "code": "42P01",
        "after": 5,
        "sum": sum(range(200)),
    }
    assert proxy.pool.stats().open <= proxy.config.size
