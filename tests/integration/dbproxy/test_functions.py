"""The db proxy from real function invocations: both ways in, many invocations, killed invocations."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from foundation.registry import functions as registry
from foundation.registry import resources
from foundation.registry.database import unit_of_work
from foundation.sealing import Sealer
from foundation.settings import Settings
from tests.integration.dbproxy.test_wire import ADMIN_URL
from tests.integration.function_kit import body, call, requires_bwrap, unique
from workers.attachments import running_proxies, serve_attachments
from workers.functions.codestore import zip_files
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]

CONCURRENCY = int(os.environ.get("STEPLINE_TEST_DBPROXY_CONCURRENCY", "48"))
"""Invocations in flight at once (each its own sandbox); 48 keeps CI on two cores reasonable."""

CODE = """
import time
import stepline_db

db = None
pg = None

def native(event, context):
    global db
    if db is None:
        db = stepline_db.connect()
    n = event['n']
    assert db.query('SELECT $1::int * 2 AS x', [n]) == [{'x': 2 * n}]
    with db.transaction():
        db.query('INSERT INTO ledger VALUES ($1, $2)', [n, n % 7])
        db.query('UPDATE totals SET n = n + 1, s = s + $1 WHERE id = 1', [n % 7])
    return 'native'

def driver(event, context):
    import psycopg
    global pg
    if pg is None:
        pg = psycopg.connect(autocommit=True)  # PGHOST, PGUSER, PGDATABASE point at the proxy
    n = event['n']
    assert pg.execute('SELECT %s::int * 2', (n,)).fetchone() == (2 * n,)
    with pg.transaction():
        pg.execute('INSERT INTO ledger VALUES (%s, %s)', (n, n % 7))
        pg.execute('UPDATE totals SET n = n + 1, s = s + %s WHERE id = 1', (n % 7,))
    return 'driver'

def hang(event, context):
    db = stepline_db.connect()
    db.begin()
    db.query('UPDATE totals SET n = n + 1000 WHERE id = 1')
    if event.get('mid_query'):
        db.query('SELECT pg_sleep(60)')
    time.sleep(60)

def broken(event, context):
    try:
        stepline_db.connect().query('SELECT * FROM nowhere')
    except stepline_db.DatabaseError as e:
        return {'code': e.code, 'message': e.message}
"""


def code_with_psycopg() -> bytes:
    """The handlers plus psycopg's pure-Python package (it uses the system libpq: PSYCOPG_IMPL=python),
    shipped in the function's code as a user would."""
    import psycopg
    import typing_extensions

    package = Path(psycopg.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", CODE)
        archive.write(typing_extensions.__file__, "typing_extensions.py")
        for path in package.rglob("*.py"):
            archive.write(path, f"psycopg/{path.relative_to(package)}")
        archive.write(package / "py.typed", "psycopg/py.typed")
    return buffer.getvalue()


async def deploy_code(service: FunctionService, handler: str, proxy: str, **settings: Any) -> str:
    stored = service.code.put(code_with_psycopg())
    fields = registry.FunctionSettings(
        runtime="python3.11", handler=handler, code_sha256=stored.sha256, code_size=stored.size,
        db_proxies=[proxy], environment={"PSYCOPG_IMPL": "python"}, **settings,
    )  # fmt: skip
    name = unique(handler.split(".")[-1])
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, fields)
    return name


@pytest.fixture
async def target() -> AsyncIterator[str]:
    name = f"stepline_fnproxy_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    conn = await asyncpg.connect(url)
    await conn.execute(
        "CREATE TABLE ledger (client int PRIMARY KEY, amount int NOT NULL);"
        "CREATE TABLE totals (id int PRIMARY KEY, n int NOT NULL, s bigint NOT NULL);"
        "INSERT INTO totals VALUES (1, 0, 0)"
    )
    await conn.close()
    yield url
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the sandbox users can traverse, so sandboxes run as unprivileged host users
    (as in production) rather than root mapped into a user namespace."""
    path = Path(tempfile.mkdtemp(prefix="sl-fn-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def service(database_url: str, data_dir: Path) -> AsyncIterator[FunctionService]:
    """The function runtime with attachments served, as in the worker."""
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=data_dir, secret_key=SecretStr("t"),
        sandbox={"max_environments": CONCURRENCY + 2},
    )  # fmt: skip
    async with (
        FunctionService(settings) as svc,
        serve_attachments(settings, svc.sessions),
    ):
        yield svc


async def register_proxy(service: FunctionService, url: str, pool_size: int = 10) -> str:
    name = unique("db").replace("-", "_")
    sealer = Sealer.from_settings("t", service.settings.data_dir)
    now = resources.utcnow()
    row = resources.DbProxy(
        name=name, target_sealed=sealer.seal(url), target_summary="-", pool_size=pool_size,
        borrow_timeout=60.0, idle_timeout=60.0, created_at=now, updated_at=now,
    )  # fmt: skip
    async with unit_of_work(service.sessions) as session:
        await resources.add_db_proxy(session, row)
    return name


async def test_500_invocations_both_ways_in_through_10_connections(
    service: FunctionService, target: str
) -> None:
    proxy = await register_proxy(service, target)
    native = await deploy_code(service, "app.native", proxy, timeout=60)
    driver = await deploy_code(service, "app.driver", proxy, timeout=60)
    watcher = await asyncpg.connect(target)
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            count = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                f"stepline-dbproxy/{proxy}",
            )
            peak = max(peak, count)
            await asyncio.sleep(0.02)

    gate = asyncio.Semaphore(CONCURRENCY)  # within the environment cap: beyond it invocations are throttled

    async def one(n: int) -> str:
        async with gate:
            result = await call(service, native if n % 2 else driver, {"n": n})
            assert result.function_error is None, result.payload
            return str(body(result))

    watching = asyncio.create_task(watch())
    outcomes = await asyncio.gather(*(one(n) for n in range(500)))
    done.set()
    await watching
    assert outcomes.count("native") == outcomes.count("driver") == 250
    assert 0 < peak <= 10
    expected = sum(n % 7 for n in range(500))
    assert await watcher.fetchval("SELECT count(*) FROM ledger") == 500
    assert await watcher.fetchval("SELECT sum(amount) FROM ledger") == expected
    assert tuple(await watcher.fetchrow("SELECT n, s FROM totals")) == (500, expected)
    await watcher.close()


async def test_bad_sql_reaches_the_function_as_postgres_error(service: FunctionService, target: str) -> None:
    proxy = await register_proxy(service, target)
    name = await deploy_code(service, "app.broken", proxy)
    assert body(await call(service, name, {})) == {
        "code": "42P01",
        "message": 'relation "nowhere" does not exist',
    }


@pytest.mark.parametrize("mid_query", [False, True], ids=["idle-in-transaction", "mid-query"])
async def test_timed_out_invocation_mid_transaction_leaves_no_lock_or_connection(
    service: FunctionService, target: str, mid_query: bool
) -> None:
    proxy = await register_proxy(service, target, pool_size=2)
    name = await deploy_code(service, "app.hang", proxy, timeout=2)
    result = await call(service, name, {"mid_query": mid_query})
    assert result.function_error is not None
    direct = await asyncpg.connect(target)
    await direct.execute("SET lock_timeout = '5s'")
    await direct.execute("UPDATE totals SET s = s + 1 WHERE id = 1")  # waits out any lock the proxy leaked
    assert await direct.fetchval("SELECT n FROM totals") == 0  # the killed update was rolled back
    states = await direct.fetch(
        "SELECT state FROM pg_stat_activity WHERE application_name = $1", f"stepline-dbproxy/{proxy}"
    )
    assert [s["state"] for s in states] == ["idle"] * len(states)
    manager = running_proxies()
    assert manager is not None and manager.stats()[proxy].open == len(states) <= 2
    await direct.close()


NODE = """
const { connect } = require('stepline-db');
const db = connect();
exports.handler = async (event) => {
  const rows = await db.query('SELECT $1::int * 2 AS x, $2::jsonb AS doc', [event.n, { n: event.n }]);
  await db.transaction(async (tx) => {
    await tx.query('INSERT INTO ledger VALUES ($1, $2)', [event.n, 1]);
  });
  try { await db.query('SELECT * FROM nowhere'); } catch (e) { return { rows, code: e.code }; }
};
"""


async def test_node_function_uses_the_bundled_client(service: FunctionService, target: str) -> None:
    proxy = await register_proxy(service, target)
    stored = service.code.put(zip_files({"index.js": NODE}))
    fields = registry.FunctionSettings(
        runtime="nodejs20", handler="index.handler", code_sha256=stored.sha256, code_size=stored.size,
        db_proxies=[proxy], timeout=30,
    )  # fmt: skip
    name = unique("node")
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, fields)
    results = [body(await call(service, name, {"n": n})) for n in (1, 2)]
    assert results == [
        {"rows": [{"x": 2, "doc": {"n": 1}}], "code": "42P01"},
        {"rows": [{"x": 4, "doc": {"n": 2}}], "code": "42P01"},
    ]
    direct = await asyncpg.connect(target)
    assert [r["client"] for r in await direct.fetch("SELECT client FROM ledger ORDER BY client")] == [1, 2]
    await direct.close()
