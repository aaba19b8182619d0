# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""Driver features beyond plain queries through the proxy: batches, COPY, pipelines, cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.integration.dbproxy.test_wire import (  # noqa: F401
    asyncpg_client,
    proxy,
    psycopg_client,
    socket_dir,
    start_proxy,
    target_url,
)
from workers.dbproxy.proxy import Proxy

pytestmark = pytest.mark.integration


@pytest.fixture
async def numbers(target_url: str) -> str:
    conn = await asyncpg.connect(target_url)
    await conn.execute("DROP TABLE IF EXISTS numbers; CREATE TABLE numbers (n int PRIMARY KEY, label text)")
    await conn.close()
    return "numbers"


async def test_asyncpg_executemany_and_copy(proxy: Proxy, numbers: str) -> None:
    conn = await asyncpg_client(proxy)
    await conn.executemany("INSERT INTO numbers VALUES ($1, $2)", [(i, f"n{i}") for i in range(100)])
    await conn.copy_records_to_table("numbers", records=[(i, f"c{i}") for i in range(100, 150)])
    assert await conn.fetchval("SELECT count(*) FROM numbers") == 150
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.executemany("INSERT INTO numbers VALUES ($1, $2)", [(200, "a"), (200, "b")])
    assert await conn.fetchval("SELECT count(*) FROM numbers WHERE n = 200") == 0
    rows = await conn.fetch("SELECT n FROM numbers WHERE n = ANY($1::int[]) ORDER BY n", [1, 120, 999])
    assert [r["n"] for r in rows] == [1, 120]
    await conn.close()


async def test_asyncpg_cursor_inside_a_transaction(proxy: Proxy, numbers: str) -> None:
    conn = await asyncpg_client(proxy)
    await conn.executemany("INSERT INTO numbers VALUES ($1, $2)", [(i, None) for i in range(30)])
    async with conn.transaction():
        seen = [r["n"] async for r in conn.cursor("SELECT n FROM numbers ORDER BY n", prefetch=7)]
    assert seen == list(range(30))
    await conn.close()


async def test_asyncpg_timeout_cancels_the_query_through_the_proxy(proxy: Proxy) -> None:
    conn = await asyncpg_client(proxy)
    with pytest.raises(asyncio.TimeoutError):
        await conn.fetchval("SELECT pg_sleep(10)", timeout=0.3)
    assert await conn.fetchval("SELECT 42", timeout=5) == 42
    await conn.close()
    assert proxy.pool.stats().open <= proxy.config.size


async def test_psycopg_pipeline_copy_and_cancel(proxy: Proxy, numbers: str) -> None:
    conn = await psycopg_client(proxy)
    async with conn.pipeline():
        for i in range(20):
            await conn.execute("INSERT INTO numbers VALUES (%s, %s)", (i, "p"))
        cur = await conn.execute("SELECT count(*) FROM numbers")
    assert await cur.fetchone() == (20,)
    async with conn.cursor() as cur, cur.copy("COPY numbers FROM STDIN") as copy:
        for i in range(20, 30):
            await copy.write_row((i, "copied"))
    async with conn.cursor() as cur:
        rows = []
        async with cur.copy(
            "COPY (SELECT n FROM numbers WHERE label = 'copied' ORDER BY n) TO STDOUT"
        ) as copy:
            async for row in copy.rows():
                rows.append(int(row[0]))
    assert rows == list(range(20, 30))
    with pytest.raises(psycopg.errors.QueryCanceled):
        async with asyncio.timeout(5):
            task = asyncio.create_task(conn.execute("SELECT pg_sleep(10)"))
            await asyncio.sleep(0.3)
            await conn.cancel_safe()
            await task
    assert await (await conn.execute("SELECT 7")).fetchone() == (7,)
    await conn.close()


async def test_psycopg_server_side_cursor_in_a_transaction(proxy: Proxy, numbers: str) -> None:
    conn = await psycopg.AsyncConnection.connect(host=str(proxy.directory), user="fn", dbname="x")
    async with conn.transaction():
        await conn.execute("INSERT INTO numbers SELECT g, 's' FROM generate_series(1, 50) g")
        async with conn.cursor(name="big") as cur:
            await cur.execute("SELECT n FROM numbers ORDER BY n")
            assert [r[0] for r in await cur.fetchmany(5)] == [1, 2, 3, 4, 5]
            assert len(await cur.fetchall()) == 45
    await conn.close()


async def test_connection_is_released_right_after_copy_and_flush(
    target_url: str, socket_dir: Path, numbers: str
) -> None:
    proxy = await start_proxy(target_url, socket_dir, size=1, borrow_timeout=1.0)
    try:
        first = await psycopg_client(proxy)
        async with first.cursor() as cur, cur.copy("COPY numbers FROM STDIN") as copy:
            await copy.write_row((1, "one"))
        second = await asyncpg_client(proxy)  # would wait out the borrow timeout if COPY kept the connection
        assert await second.fetchval("SELECT label FROM numbers WHERE n = 1") == "one"
        await asyncio.wait_for(second.execute("SELECT 1"), 2)
        await first.close()
        await second.close()
    finally:
        await proxy.close()
