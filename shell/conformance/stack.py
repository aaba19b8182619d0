"""The product in one process for end-to-end runs: the API over HTTP and a worker whose Task states
invoke functions through the sandboxed function runtime.

``stepline dev`` runs the same pieces, but its worker gets its function runtime from
``workers.main.function_runtime``; this wires ``workers.functions.service.FunctionService`` in directly, so
the corpus' function cases run through bubblewrap whatever that hook provides. Both the API's and
the worker's runtime use ``settings.data_dir``, where the API stores the code the worker runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from temporalio.client import Client

from api.app import create_app
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import free_port
from workers.activities import Activities
from workers.functions.service import FunctionService
from workers.worker import build_worker


class _Server(uvicorn.Server):
    """uvicorn without signal handlers: its owner stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def function_worker(settings: Settings, client: Client | None = None) -> AsyncIterator[None]:
    """A worker on ``settings.temporal.task_queue`` whose Task states run real sandboxed functions."""
    client = client or await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
    engine = create_engine(settings.database.url.get_secret_value(), settings.database.pool_size)
    try:
        sessions = session_maker(engine)
        # No configuration cache: a function registered a moment ago through the API is found at once.
        runtime = FunctionService(settings, sessions=sessions, config_cache_seconds=0.0)
        async with runtime, build_worker(client, settings.temporal.task_queue, Activities(sessions, runtime)):
            yield
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def api_server(settings: Settings) -> AsyncIterator[str]:
    """The API on a free loopback port (uvicorn, lifespan entered); yields its base URL."""
    port = free_port()
    server = _Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                raise RuntimeError(f"the API did not start on port {port} (uvicorn logged why)")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(SystemExit):  # uvicorn exits this way when its lifespan failed
            await serving


@contextlib.asynccontextmanager
async def stack(settings: Settings, client: Client | None = None) -> AsyncIterator[str]:
    """API + function worker against ``settings`` (a migrated database, a reachable Temporal)."""
    async with function_worker(settings, client), api_server(settings) as url:
        yield url
