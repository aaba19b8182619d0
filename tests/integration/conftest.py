"""Real services for integration tests: a Temporal dev server, fresh PostgreSQL databases, a worker on
a fresh task queue, and the API through httpx with its lifespan entered."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from foundation.registry.database import SessionMaker, create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import temporal_dev_server
from tests.integration.functions import TestInvoker

ADMIN_URL = os.environ.get("STEPLINE_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test, so ``-m "not integration"`` is the
    fast loop (unit and conformance) without each file having to remember its marker."""
    for item in items:
        if "tests/integration/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """A Temporal dev server for the whole session (in memory), or STEPLINE_TEST_TEMPORAL_ADDRESS."""
    existing = os.environ.get("STEPLINE_TEST_TEMPORAL_ADDRESS")
    if existing:
        yield existing
        return
    with temporal_dev_server() as address:
        yield address


async def create_database() -> str:
    """A new, empty database on the test server (plain ``postgresql://`` URL)."""
    name = f"stepline_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


async def drop_database(url: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def empty_database_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (plain ``postgresql://`` URL), dropped after the session."""
    url = await create_database()
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A fresh database at the latest migration, shared by the session's tests."""
    from foundation.db import upgrade

    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(url)


@pytest.fixture
def settings(database_url: str, temporal_address: str) -> Settings:
    """Settings for one test: the migrated database, the dev server, a task queue of its own."""
    return Settings(
        database_url=SecretStr(database_url),
        temporal_address=temporal_address,
        temporal={"task_queue": f"test-{uuid.uuid4().hex[:12]}"},
    )


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionMaker]:
    """Registry sessions on the test's database (a small pool of the test's own)."""
    engine = create_engine(settings.database.url.get_secret_value(), pool_size=2)
    try:
        yield session_maker(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def temporal_client(temporal_address: str) -> Client:
    """A client, once the dev server's frontend is healthy (its port opens a little earlier)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            return await Client.connect(temporal_address)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
def test_functions() -> TestInvoker:
    return TestInvoker()


@pytest.fixture
async def worker(
    settings: Settings, temporal_client: Client, test_functions: TestInvoker
) -> AsyncIterator[None]:
    """A worker on the test's own task queue, with the built-in test functions."""
    from foundation.registry.database import create_engine, session_maker
    from workers.activities import Activities
    from workers.worker import build_worker

    engine = create_engine(settings.database.url.get_secret_value(), pool_size=5)
    activities = Activities(session_maker(engine), test_functions)
    try:
        async with build_worker(temporal_client, settings.temporal.task_queue, activities):
            yield
    finally:
        await engine.dispose()


@pytest.fixture
async def api(settings: Settings, test_functions: TestInvoker) -> AsyncIterator[httpx.AsyncClient]:
    """The API (lifespan entered) through httpx, against the test's database and task queue; its
    synchronous executions use the built-in test functions."""
    from api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.stepline.function_invoker = test_functions
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as client:
            yield client
