"""The proxy with unchanged drivers (asyncpg, psycopg) against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import psycopg
import pytest

from workers.dbproxy.pool import PoolConfig
from workers.dbproxy.proxy import Proxy
from workers.dbproxy.server import Target

pytestmark = pytest.mark.integration

ADMIN_URL = os.environ.get("STEPLINE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
async def target_url() -> AsyncIterator[str]:
    """A fresh database for this module, dropped afterwards."""
    name = f"stepline_dbproxy_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sl-db-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def start_proxy(url: str, directory: Path, size: int = 10, borrow_timeout: float = 30.0) -> Proxy:
    name = f"p{uuid.uuid4().hex[:8]}"
    proxy = Proxy(PoolConfig(name, Target.from_url(url), size=size, borrow_timeout=borrow_timeout), directory)
    await proxy.start()
    return proxy


@pytest.fixture
async def proxy(target_url: str, socket_dir: Path) -> AsyncIterator[Proxy]:
    running = await start_proxy(target_url, socket_dir)
    yield running
    await running.close()


async def server_connections(url: str, application_name: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", application_name
        )
        return count
    finally:
        await conn.close()


async def asyncpg_client(proxy: Proxy) -> asyncpg.Connection:
    return await asyncpg.connect(host=str(proxy.directory), user="fn", database="any")


async def psycopg_client(proxy: Proxy) -> psycopg.AsyncConnection[tuple[object, ...]]:
    return await psycopg.AsyncConnection.connect(
        host=str(proxy.directory), user="fn", dbname="any", autocommit=True
    )


async def test_500_concurrent_clients_share_10_server_connections(proxy: Proxy, target_url: str) -> None:
    setup = await asyncpg.connect(target_url)
    await setup.execute(
        "CREATE TABLE ledger (client int PRIMARY KEY, amount int NOT NULL);"
        "CREATE TABLE totals (id int PRIMARY KEY, n int NOT NULL, s bigint NOT NULL);"
        "INSERT INTO totals VALUES (1, 0, 0)"
    )
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            count = await setup.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                proxy.config.application_name,
            )
            peak = max(peak, count)
            await asyncio.sleep(0.01)

    async def with_asyncpg(i: int) -> None:
        conn = await asyncpg_client(proxy)
        try:
            assert await conn.fetchval("SELECT $1::int * 2", i) == 2 * i
            async with conn.transaction():
                await conn.execute("INSERT INTO ledger VALUES ($1, $2)", i, i % 7)
                await conn.execute("UPDATE totals SET n = n + 1, s = s + $1 WHERE id = 1", i % 7)
            assert await conn.fetchval("SELECT amount FROM ledger WHERE client = $1", i) == i % 7
        finally:
            await conn.close()

    async def with_psycopg(i: int) -> None:
        conn = await psycopg_client(proxy)
        try:
            cur = await conn.execute("SELECT %s::int * 2", (i,))
            assert await cur.fetchone() == (2 * i,)
            async with conn.transaction():
                await conn.execute("INSERT INTO ledger VALUES (%s, %s)", (i, i % 7))
                await conn.execute("UPDATE totals SET n = n + 1, s = s + %s WHERE id = 1", (i % 7,))
        finally:
            await conn.close()

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(
        *(with_asyncpg(i) if i % 2 else with_psycopg(i) for i in range(500)), return_exceptions=True
    )
    done.set()
    await watcher
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert 0 < peak <= 10
    assert await setup.fetchval("SELECT count(*) FROM ledger") == 500
    assert await setup.fetchval("SELECT sum(amount) FROM ledger") == sum(i % 7 for i in range(500))
    assert tuple(await setup.fetchrow("SELECT n, s FROM totals")) == (500, sum(i % 7 for i in range(500)))
    await setup.close()
    assert proxy.pool.stats().open <= 10


async def test_bad_sql_returns_postgres_error_and_connection_stays_usable(proxy: Proxy) -> None:
    conn = await asyncpg_client(proxy)
    with pytest.raises(asyncpg.UndefinedTableError, match='relation "no_such_table" does not exist'):
        await conn.fetch("SELECT * FROM no_such_table")
    with pytest.raises(asyncpg.PostgresSyntaxError) as caught:
        await conn.execute("SELEC 1")
    assert caught.value.sqlstate == "42601"
    assert await conn.fetchval("SELECT 1") == 1
    await conn.close()
    pconn = await psycopg_client(proxy)
    with pytest.raises(psycopg.errors.DivisionByZero):
        await pconn.execute("SELECT 1 / %s", (0,))
    assert await (await pconn.execute("SELECT 2")).fetchone() == (2,)
    await pconn.close()


async def test_failed_transaction_keeps_pinning_until_rollback(proxy: Proxy) -> None:
    conn = await psycopg_client(proxy)
    await conn.execute("BEGIN")
    with pytest.raises(psycopg.errors.UndefinedTable):
        await conn.execute("SELECT * FROM missing")
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        await conn.execute("SELECT 1")
    await conn.execute("ROLLBACK")
    assert await (await conn.execute("SELECT 3")).fetchone() == (3,)
    await conn.close()


async def test_prepared_statements_survive_moving_between_server_connections(
    target_url: str, socket_dir: Path
) -> None:
    proxy = await start_proxy(target_url, socket_dir, size=3)
    try:
        clients = [await asyncpg_client(proxy) for _ in range(6)]
        pclients = [await psycopg_client(proxy) for _ in range(3)]

        async def repeat_asyncpg(conn: asyncpg.Connection, k: int) -> None:
            for i in range(40):
                assert await conn.fetchval("SELECT $1::int + $2::int", i, k) == i + k
                assert await conn.fetchval("SELECT $1::text || 'x'", str(i)) == f"{i}x"

        async def repeat_psycopg(conn: psycopg.AsyncConnection[tuple[object, ...]], k: int) -> None:
            for i in range(40):  # psycopg prepares after the 5th run of a statement
                cur = await conn.execute("SELECT %s::int - %s::int", (i, k))
                assert await cur.fetchone() == (i - k,)

        await asyncio.gather(
            *(repeat_asyncpg(c, k) for k, c in enumerate(clients)),
            *(repeat_psycopg(c, k) for k, c in enumerate(pclients)),
        )
        for conn in clients:
            await conn.close()
        for pconn in pclients:
            await pconn.close()
    finally:
        await proxy.close()


async def test_session_state_does_not_leak_to_the_next_client(target_url: str, socket_dir: Path) -> None:
    proxy = await start_proxy(target_url, socket_dir, size=1)
    try:
        first = await asyncpg_client(proxy)
        await first.execute("SET statement_timeout = '1234ms'")
        await first.execute("CREATE TEMP TABLE scratch (x int)")
        await first.close()
        second = await asyncpg_client(proxy)
        assert await second.fetchval("SHOW statement_timeout") == "0"
        assert await second.fetchval("SELECT to_regclass('pg_temp.scratch')::text") is None
        await second.close()
    finally:
        await proxy.close()


async def test_waiters_queue_then_get_a_clear_error_after_the_borrow_timeout(
    target_url: str, socket_dir: Path
) -> None:
    proxy = await start_proxy(target_url, socket_dir, size=1, borrow_timeout=0.3)
    try:
        holder = await asyncpg_client(proxy)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1")
        waiter = await asyncpg_client(proxy)
        with pytest.raises(asyncpg.PostgresError, match=r"no connection free within 0\.3 s") as caught:
            await waiter.fetchval("SELECT 2")
        assert caught.value.sqlstate == "53300"
        late = asyncio.create_task(waiter.fetchval("SELECT 3"))
        await asyncio.sleep(0.1)
        await transaction.commit()
        assert await late == 3
        await holder.close()
        await waiter.close()
    finally:
        await proxy.close()


async def test_startup_options_that_cannot_be_honoured_are_refused_clearly(proxy: Proxy) -> None:
    with pytest.raises(psycopg.OperationalError, match="options='-c search_path=other' is not supported"):
        await psycopg.AsyncConnection.connect(
            host=str(proxy.directory), user="fn", dbname="any", options="-c search_path=other"
        )
