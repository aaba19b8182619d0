"""The worker's invoke endpoint and the API's side of it, in one process: TCP for APIs on other
machines, the deployment's key required before any body is read, and a worker that stops
heartbeating (hangs) fails the invocations waiting on it instead of holding them forever."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from api.runtime.directory import WorkerDirectory
from api.runtime.peers import Address, Peer
from api.runtime.remote import RemoteRuntime
from foundation.settings import Settings
from tests.integration.conftest import create_database, drop_database
from tests.integration.function_kit import deploy, requires_bwrap, unique
from workers.endpoint import wire
from workers.endpoint.local import LocalRuntime
from workers.endpoint.presence import Presence
from workers.endpoint.server import serve_endpoint
from workers.functions.errors import ServiceError
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]

HANDLER = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"doubled": event.get("n", 0) * 2}
"""


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """A database of the test's own: the directory lists every worker registered in it."""
    from foundation.db import upgrade

    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(url)


def reachable_directory() -> Path:
    """A data directory the sandbox users can reach (pytest's temporary directories are root's only)."""
    path = Path(tempfile.mkdtemp(prefix="stepline-test-"))
    path.chmod(0o711)
    return path


@pytest.fixture
async def worker(database: str) -> AsyncIterator[tuple[FunctionService, Presence, Settings]]:
    """A function runtime and its endpoint, on TCP too."""
    data_dir = reachable_directory()
    settings = Settings(
        database_url=SecretStr(database), data_dir=data_dir, worker={"listen": "127.0.0.1:0"},
        sandbox={"spare_environments": 0},
    )  # fmt: skip
    try:
        async with (
            FunctionService(settings, config_cache_seconds=0.0) as service,
            serve_endpoint(settings, LocalRuntime(service), service.sessions) as presence,
        ):
            yield service, presence, settings
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_tcp_carries_an_invocation_and_a_foreign_key_is_refused(
    worker: tuple[FunctionService, Presence, Settings],
) -> None:
    service, presence, settings = worker
    name = await deploy(service, unique("tcp"), {"app.py": HANDLER})
    assert presence.tcp_address is not None and presence.tcp_address.startswith("127.0.0.1:")
    peer = Peer(Address(presence.worker_id, None, presence.tcp_address))  # as an API on another machine
    request = {"function": name, "qualifier": None, "type": "RequestResponse"}
    token = wire.endpoint_token(settings)
    status, meta, payload = await peer.request(wire.request_bytes(wire.INVOKE, token, request, b'{"n": 4}'))
    assert (status, json.loads(payload), meta["executed_version"]) == (200, {"doubled": 8}, "$LATEST")

    status, meta, _ = await peer.request(wire.request_bytes(wire.INVOKE, b"0" * 64, request, b"{}"))
    refused = wire.invoke_error(status, meta)
    peer.abandon("the test is over")
    assert status == 401 and isinstance(refused, ServiceError)
    assert "STEPLINE_SECRET_KEY" in refused.message


async def test_an_unauthenticated_body_is_never_read(
    worker: tuple[FunctionService, Presence, Settings],
) -> None:
    _, presence, _ = worker
    assert presence.unix_path is not None
    reader, writer = await asyncio.open_unix_connection(presence.unix_path)
    writer.write(b"POST /invoke HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")  # and no body follows
    answer = await asyncio.wait_for(reader.read(), 5)  # answered and closed, not waiting for 1 GB
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401 "), answer


async def test_a_worker_that_stops_heartbeating_fails_the_invocation_waiting_on_it(
    worker: tuple[FunctionService, Presence, Settings], database: str
) -> None:
    service, presence, settings = worker
    name = await deploy(service, unique("hang"), {"app.py": HANDLER})
    directory = WorkerDirectory(service.sessions)
    await directory.refresh()
    assert [p.id for p in directory.candidates(name)] == [presence.worker_id]
    runtime = RemoteRuntime(directory, wire.endpoint_token(settings), service.code)
    assert json.loads((await runtime.invoke(name, b'{"n": 1}')).payload) == {"doubled": 2}

    waiting = asyncio.create_task(runtime.invoke(name, b'{"sleep": 30}'))
    await asyncio.sleep(1.0)
    connection = await asyncpg.connect(database)
    try:  # as a hung worker looks: its last heartbeat a minute old
        await connection.execute(
            "UPDATE worker_endpoint SET heartbeat_at = now() - interval '1 minute' WHERE id = $1",
            presence.worker_id,
        )
    finally:
        await connection.close()
    await directory.refresh()
    with pytest.raises(ServiceError, match="no heartbeat for 10 s"):
        await asyncio.wait_for(waiting, 5)
    assert directory.candidates(name) == []
    directory.close()


async def test_in_use_counts_the_invocations_running_on_every_worker(
    worker: tuple[FunctionService, Presence, Settings],
) -> None:
    service, _, settings = worker
    name = await deploy(service, unique("busy"), {"app.py": HANDLER})
    directory = WorkerDirectory(service.sessions)
    await directory.refresh()
    runtime = RemoteRuntime(directory, wire.endpoint_token(settings), service.code)
    assert await runtime.in_use(name) == 0
    running = [asyncio.create_task(runtime.invoke(name, b'{"sleep": 2}')) for _ in range(2)]
    for _ in range(100):  # both started (the first may still be cold-starting: counted too)
        if await runtime.in_use(name) == 2:
            break
        await asyncio.sleep(0.05)
    assert await runtime.in_use(name) == 2
    assert await runtime.in_use("another") == 0
    await asyncio.gather(*running)
    assert await runtime.in_use(name) == 0
    directory.close()
