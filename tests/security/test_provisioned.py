"""Provisioned concurrency against the environment cap (STEPLINE_SANDBOX__MAX_ENVIRONMENTS): asking for
more than the cap leaves is a 400, two requests cannot both take the last environments, and a runtime
never starts more than the cap leaves, whatever the registry holds."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.conftest import create_database, drop_database
from tests.integration.function_kit import requires_bwrap
from tests.integration.helpers import create_function
from workers.functions.service import FunctionService

pytestmark = [requires_bwrap]

CAP = 8
BUDGET = 7
"""Of 8 environments, one in ten (rounded up: one) stays for on-demand invocations."""
HELLO = "def handler(event, context):\n    return event\n"


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A database of the test's own: the budget counts every function in the registry, and other
    tests' functions (their code gone) would be in it."""
    from foundation.db import upgrade

    url = await create_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(url)


@pytest.fixture
async def api(
    settings: Settings, own_database: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FunctionService]]:
    """The API with a function runtime capped at ``CAP`` environments (no spares), and that runtime."""
    from api.app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="stepline-test-"))
    os.chmod(data_dir, 0o711)
    sandbox = settings.sandbox.model_copy(
        update={"max_environments": CAP, "spare_environments": 0, "provision_check_seconds": 0.5}
    )
    database = settings.database.model_copy(update={"url": SecretStr(own_database)})
    app = create_app(
        settings.model_copy(update={"data_dir": data_dir, "sandbox": sandbox, "database": database})
    )
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.stepline.function_invoker
            assert isinstance(runtime, FunctionService)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://stepline.test", timeout=300
            ) as c:
                yield c, runtime
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def provision(client: httpx.AsyncClient, name: str, count: int) -> httpx.Response:
    return await client.put(f"/v1/functions/{name}/concurrency", json={"provisioned": count})


async def test_more_than_the_cap_leaves_is_400_invalid_parameter_value(
    api: tuple[httpx.AsyncClient, FunctionService],
) -> None:
    client, runtime = api
    first, second = await create_function(client, HELLO, "a"), await create_function(client, HELLO, "b")
    refused = await provision(client, first, 20)
    assert refused.status_code == 400, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith("InvalidParameterValueException")
    assert f"at most {BUDGET} of the {CAP}" in detail and "STEPLINE_SANDBOX__MAX_ENVIRONMENTS" in detail
    assert (await client.get(f"/v1/functions/{first}")).json()["provisionedConcurrency"] == 0
    assert (await provision(client, first, 5)).status_code == 200
    over = await provision(client, second, 3)
    assert over.status_code == 400 and "the 2 still available" in over.json()["detail"], over.text
    assert (await provision(client, second, 2)).status_code == 200
    assert (await provision(client, first, 5)).status_code == 200  # its own 5 are not counted twice
    assert runtime.pool.size == BUDGET


async def test_two_concurrent_requests_cannot_both_take_the_last_environments(
    api: tuple[httpx.AsyncClient, FunctionService],
) -> None:
    client, runtime = api
    first, second = await create_function(client, HELLO, "a"), await create_function(client, HELLO, "b")
    answers = await asyncio.gather(provision(client, first, 5), provision(client, second, 5))
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    assert runtime.pool.size == 5


async def test_a_runtime_never_starts_more_than_the_cap_leaves(
    api: tuple[httpx.AsyncClient, FunctionService],
) -> None:
    """Rows written by an older version (or without the check) ask for 20 + 20: the runtime starts
    the budget in name order, however many rounds run at once."""
    client, runtime = api
    first, second = await create_function(client, HELLO, "a"), await create_function(client, HELLO, "b")
    async with unit_of_work(runtime.sessions) as session:
        await registry.set_concurrency(session, first, None, 20)
        await registry.set_concurrency(session, second, None, 20)
    await asyncio.gather(runtime.provision(first), runtime.provision(second), runtime.provision(first))
    assert runtime.pool.size == BUDGET
    await asyncio.sleep(1.5)  # the runtime's own rounds (every 0.5 s here) start nothing more
    assert runtime.pool.size == BUDGET
    invoked = await client.post(f"/v1/functions/{second}/invocations", json={"on": "demand"})
    assert invoked.status_code == 200 and invoked.json() == {"on": "demand"}  # the environment left over
