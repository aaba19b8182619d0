"""The function runtime inside the API process (``stepline dev``, and tests that embed the API): a
``FunctionService`` with this process's database proxies and file systems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry

from foundation.registry.database import SessionMaker
from foundation.settings import Settings
from workers.attachments import serve_attachments
from workers.endpoint.local import LocalRuntime
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.metric_samples import MetricSampler
from workers.functions.service import FunctionService
from workers.pool_reports import PoolReporter


@asynccontextmanager
async def in_process(
    settings: Settings, sessions: SessionMaker, metrics: CollectorRegistry
) -> AsyncIterator[LocalRuntime]:
    """Run sandboxes, database proxies and file systems here until the block ends."""
    async with (
        serve_attachments(settings, sessions, metrics),
        FunctionService(settings, sessions=sessions, metrics_registry=metrics) as service,
        MetricSampler(service.metrics, sessions, settings.worker.metric_sample_seconds),
        PoolReporter(sessions),
        EventSources(settings, sessions, source_invoker(service), metrics_registry=metrics),
    ):
        yield LocalRuntime(service)
