# ruff: noqa: F811  (pytest fixtures imported from test_dbproxy_wire)
"""The proxy when clients die mid-transaction and when the database goes away and comes back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.integration.dbproxy.test_wire import (  # noqa: F401  (fixtures)
    asyncpg_client,
    proxy,
    server_connections,
    socket_dir,
    start_proxy,
    target_url,
)
from workers.dbproxy.proxy import Proxy

pytestmark = pytest.mark.integration

HOLD_LOCK = """
import sys, time, psycopg
conn = psycopg.connect(host=sys.argv[1], user="fn", dbname="any")
conn.execute("UPDATE locked SET n = n + 1 WHERE id = 1")
print("locked", flush=True)
if sys.argv[2] == "sleep":
    conn.execute("SELECT pg_sleep(60)")
time.sleep(60)
"""

HOLD_LOCK_NATIVE = """
import sys, time
sys.path.insert(0, sys.argv[3])
import stepline_db
db = stepline_db.Connection(sys.argv[1] + "/stepline.sock")
db.begin()
db.query("UPDATE locked SET n = n + 1 WHERE id = 1")
print("locked", flush=True)
if sys.argv[2] == "sleep":
    db.query("SELECT pg_sleep(60)")
time.sleep(60)
"""
SANDBOX_PYTHON = str(Path(__file__).resolve().parents[3] / "workers" / "sandbox_lib" / "python")


async def hold_lock_then_get_killed(proxy: Proxy, mode: str, way: str) -> None:
    script = HOLD_LOCK if way == "wire" else HOLD_LOCK_NATIVE
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(proxy.directory),
        mode,
        SANDBOX_PYTHON,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert (await asyncio.wait_for(child.stdout.readline(), 10)).strip() == b"locked"
    await asyncio.sleep(0.2 if mode == "sleep" else 0)  # let pg_sleep start
    child.send_signal(signal.SIGKILL)
    await child.wait()


@pytest.mark.parametrize("way", ["wire", "native"])
@pytest.mark.parametrize("mode", ["idle", "sleep"], ids=["idle-in-transaction", "mid-query"])
async def test_killed_client_mid_transaction_leaves_no_lock_and_no_leaked_connection(
    proxy: Proxy, target_url: str, mode: str, way: str
) -> None:
    direct = await asyncpg.connect(target_url)
    await direct.execute("CREATE TABLE IF NOT EXISTS locked (id int PRIMARY KEY, n int); TRUNCATE locked;")
    await direct.execute("INSERT INTO locked VALUES (1, 0)")
    await hold_lock_then_get_killed(proxy, mode, way)
    await direct.execute("SET lock_timeout = '3s'")
    await direct.execute("UPDATE locked SET n = n + 10 WHERE id = 1")  # would time out if the lock leaked
    assert await direct.fetchval("SELECT n FROM locked WHERE id = 1") == 10  # the killed update rolled back
    states = await direct.fetch(
        "SELECT state FROM pg_stat_activity WHERE application_name = $1", proxy.config.application_name
    )
    assert [s["state"] for s in states] == ["idle"] * len(states)
    assert len(states) == proxy.pool.stats().open <= 1
    await direct.close()


class Relay:
    """A TCP relay in front of PostgreSQL that the test can cut and restore (the database 'goes away')."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 5432)
        self.writers += [writer, up_writer]

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    running = Relay()
    await running.start()
    yield running
    with contextlib.suppress(Exception):
        await running.stop()


async def test_unreachable_database_gives_a_clear_error_and_the_proxy_recovers(
    target_url: str, socket_dir: Path, relay: Relay
) -> None:
    through_relay = target_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
    proxy = await start_proxy(through_relay, socket_dir, size=2)
    try:
        client = await asyncpg_client(proxy)
        assert await client.fetchval("SELECT 1") == 1
        await relay.stop()
        with pytest.raises(asyncpg.PostgresError) as lost:
            await client.fetchval("SELECT 2")
        assert lost.value.sqlstate in ("08006", "08001")
        with pytest.raises(asyncpg.PostgresError, match="cannot reach database") as unreachable:
            await client.fetchval("SELECT 3")
        assert unreachable.value.sqlstate == "08001"
        await relay.start()
        assert await client.fetchval("SELECT 4") == 4  # same client connection, recovered
        fresh = await asyncpg_client(proxy)
        assert await fresh.fetchval("SELECT 5") == 5
        await fresh.close()
        await client.close()
    finally:
        await proxy.close()


PEER = """
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
body = struct.pack("!I", 196608) + b"user\\0fn\\0database\\0x\\0\\0"
try:
    s.sendall(struct.pack("!I", len(body) + 4) + body)
    print((s.recv(1) or b"closed").decode())
except ConnectionError:
    print("closed")
"""


async def test_only_this_process_and_allowed_sandbox_users_may_connect(target_url: str) -> None:
    directory = Path(tempfile.mkdtemp(prefix="sl-peer-"))
    os.chmod(directory, 0o755)
    running = await start_proxy(target_url, directory)

    async def answer_as(uid: int) -> str:
        child = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", "-c", PEER, str(directory / ".s.PGSQL.5432"),
            stdout=asyncio.subprocess.PIPE, user=uid, group=uid, extra_groups=[],
        )  # fmt: skip
        out, _ = await child.communicate()
        return out.decode().strip()

    try:
        assert await answer_as(4444) == "closed"
        running.allow(4444)
        assert await answer_as(4444) == "R"  # AuthenticationOk
    finally:
        await running.close()
        shutil.rmtree(directory, ignore_errors=True)
