"""The API with a worker in its own process (``stepline dev``): one Temporal client, one function
runtime; a worker that cannot run stops the process through ``on_failure``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.colocated_worker import ColocatedWorker
from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap
from tests.integration.helpers import create_machine, start, unique, wait_until_done

pytestmark = pytest.mark.integration

HANDLER = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"


@pytest.fixture
def settings(settings: Settings) -> Iterator[Settings]:
    """The test's settings with a data directory the sandbox users can reach."""
    data_dir = Path(tempfile.mkdtemp(prefix="stepline-test-"))
    data_dir.chmod(0o711)
    yield settings.model_copy(update={"data_dir": data_dir})
    shutil.rmtree(data_dir, ignore_errors=True)


@asynccontextmanager
async def colocated(settings: Settings, worker: ColocatedWorker) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, worker=worker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as client:
            yield client


@requires_bwrap
async def test_task_states_run_on_the_api_process_worker_and_its_runtime(settings: Settings) -> None:
    """No other worker polls the test's task queue: the execution can only finish in the API process,
    and its Task state finds a function registered through that API."""
    async with colocated(settings, ColocatedWorker()) as api:
        name = unique("double")
        response = await api.post(
            "/v1/functions",
            json={
                "name": name,
                "runtime": "python3.11",
                "handler": "app.handler",
                "code": {"files": {"app.py": HANDLER}},
            },
        )
        assert response.status_code == 201, response.text
        resource = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        machine = await create_machine(
            api, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
        )
        done = await wait_until_done(api, (await start(api, machine, {"n": 21}))["executionId"])
        assert (done["status"], done["output"]) == ("SUCCEEDED", {"doubled": 42})


async def test_a_worker_that_cannot_run_calls_on_failure(settings: Settings) -> None:
    failed = asyncio.Event()
    broken = settings.model_copy(
        update={"temporal": settings.temporal.model_copy(update={"namespace": unique("no-such-namespace")})}
    )
    async with colocated(broken, ColocatedWorker(on_failure=failed.set)):
        await asyncio.wait_for(failed.wait(), timeout=30)
