"""A Temporal worker inside the API process (``stepline dev``): one process, one of everything.

It shares the API's Temporal client, function runtime and database pool. Sharing the client makes
starts eager (Temporal hands the first workflow task back with the start's answer instead of
through its task queue: ~5 ms less per execution here), and sharing the runtime means one warm
pool, so a function the API invoked is warm for Task states too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from api.state import AppState
from workers.activities import Activities
from workers.events.delivery import Deliverer
from workers.express import ExpressRunner
from workers.integrations import for_settings as integrations_for
from workers.worker import build_worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColocatedWorker:
    """Run a worker on ``settings.temporal.task_queue`` beside the API."""

    on_failure: Callable[[], None] = field(default=lambda: None)
    """Called if the worker stops by itself (it failed), so that the process can stop too."""


def worker_hook(worker: ColocatedWorker) -> Callable[[AppState], AbstractAsyncContextManager[None]]:
    """The lifespan hook running ``worker`` (after the function runtime's hook)."""

    @asynccontextmanager
    async def serve(state: AppState) -> AsyncIterator[None]:
        settings = state.settings
        services = integrations_for(settings, state.sessions).call
        temporal_worker = build_worker(
            state.temporal,
            settings.temporal.task_queue,
            Activities(state.sessions, state.function_invoker, services, settings),
            sandboxed=settings.temporal.workflow_sandbox,
        )
        running = asyncio.create_task(temporal_worker.run())

        def stopped(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                log.error("the worker stopped: %s", task.exception())
                worker.on_failure()

        running.add_done_callback(stopped)
        try:
            async with (
                Deliverer(settings, state.sessions),  # rules' targets (workers.events)
                ExpressRunner(settings, state.sessions, state.function_invoker, services),
            ):
                yield
        finally:
            running.remove_done_callback(stopped)
            if not running.done():
                await temporal_worker.shutdown()
            await asyncio.gather(running, return_exceptions=True)

    return serve
