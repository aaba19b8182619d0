"""``stepline worker``: run a worker until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client

from foundation.datadir import prepare_data_dir
from foundation.db import DatabaseNotMigrated, check_migrated
from foundation.preflight import UnsafeStart, check_bwrap
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from workers.activities import Activities
from workers.attachments import serve_attachments
from workers.endpoint.local import LocalRuntime
from workers.endpoint.server import serve_endpoint, split_address
from workers.events.delivery import Deliverer
from workers.events.sources.runner import EventSources, source_invoker
from workers.express import ExpressRunner
from workers.functions.metric_samples import MetricSampler
from workers.functions.service import FunctionService
from workers.integrations import for_settings as integrations_for
from workers.pool_reports import PoolReporter
from workers.worker import build_worker


@asynccontextmanager
async def function_runtime(settings: Settings) -> AsyncIterator[FunctionService]:
    """The function runtime for Task states and direct invocations: sandboxes from a warm pool."""
    async with (
        FunctionService(settings) as service,
        MetricSampler(service.metrics, service.sessions, settings.worker.metric_sample_seconds),
    ):
        yield service


async def serve_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Poll ``settings.temporal.task_queue`` and serve the invoke endpoint until ``stop`` is set."""
    engine = create_engine(settings.database.url.get_secret_value(), settings.database.pool_size)
    try:
        await check_migrated(engine)
        client = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
        sessions = session_maker(engine)
        async with (
            serve_attachments(settings, sessions),
            function_runtime(settings) as service,
            serve_endpoint(settings, LocalRuntime(service), sessions) as presence,
            PoolReporter(sessions),
            Deliverer(settings, sessions),
            EventSources(settings, sessions, source_invoker(service)),
            ExpressRunner(settings, sessions, service, integrations_for(settings, sessions).call),
        ):
            worker = build_worker(
                client,
                settings.temporal.task_queue,
                Activities(sessions, service, integrations_for(settings, sessions).call, settings),
                sandboxed=settings.temporal.workflow_sandbox,
            )
            async with worker:
                where = ", ".join(filter(None, (presence.unix_path, presence.tcp_address)))
                print(f"stepline worker: invocations from the API at {where}", flush=True)
                await stop.wait()
    finally:
        await engine.dispose()


def run_worker(settings: Settings | None = None) -> None:
    """Entry point of ``stepline worker``: refuses to start without bubblewrap (it runs functions)."""
    settings = settings or Settings()
    try:
        check_bwrap(settings.sandbox)
        prepare_data_dir(settings.data_dir)
        if settings.worker.listen is not None:
            split_address(settings.worker.listen)
    except UnsafeStart as exc:
        sys.exit(f"stepline worker: {exc}")
    except ValueError as exc:
        sys.exit(f"stepline worker: STEPLINE_WORKER__LISTEN: {exc}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"stepline worker: task queue {settings.temporal.task_queue!r} at {settings.temporal.address}")
        await serve_worker(settings, stop)

    try:
        asyncio.run(main())
    except DatabaseNotMigrated as exc:
        sys.exit(f"stepline worker: {exc}")
