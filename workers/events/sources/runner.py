"""The event source mappings a worker leads, and their pollers.

Every ``scan_seconds`` the worker renews its leases in the registry and takes free or expired ones
(``registry.event_source_mappings.lead``: one leader per mapping across worker processes). It runs a
poller for each enabled mapping it leads, starts it again when the mapping changed (its
``last_modified``) or its poller ended with an error (after a pause; the error is the mapping's last
error), and stops the pollers of mappings disabled, deleted or led by another worker. Stopping
releases its leases, so another worker takes over at once.

    async with EventSources(settings, sessions, source_invoker(service)):
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from prometheus_client import CollectorRegistry

from foundation.registry import event_source_mappings as registry
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from workers.events.sources import (
    brokers,
    file_system,
    nats_jetstream,
    postgres_changes,
    rabbitmq,
    redis_streams,
)
from workers.events.sources.core import Batcher, Invoke, MappingView
from workers.events.sources.metrics import source_metrics
from workers.functions.destinations import Destinations
from workers.functions.service import FunctionService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source's poller may use besides its batcher."""

    settings: Settings
    sessions: SessionMaker
    worker_id: str


Poll = Callable[[Batcher, SourceContext], Awaitable[None]]


def _rabbitmq(batcher: Batcher, context: SourceContext) -> Awaitable[None]:
    own = brokers.url_of(batcher.mapping, context.settings)
    url = own or context.settings.event_sources.rabbitmq_url.get_secret_value()
    return rabbitmq.poll(batcher, url, context.settings.region)


def _redis(batcher: Batcher, context: SourceContext) -> Awaitable[None]:
    own = brokers.url_of(batcher.mapping, context.settings)
    url = own or context.settings.event_sources.redis_url.get_secret_value()
    return redis_streams.poll(batcher, url, context.settings.region, context.worker_id)


def _nats(batcher: Batcher, context: SourceContext) -> Awaitable[None]:
    config = context.settings.event_sources
    url = brokers.url_of(batcher.mapping, context.settings) or config.nats_url.get_secret_value()
    return nats_jetstream.poll(batcher, url, context.settings.region, config.lease_seconds)


def _file_system(batcher: Batcher, context: SourceContext) -> Awaitable[None]:
    return file_system.poll(batcher, context.sessions, context.settings)


def _postgres(batcher: Batcher, context: SourceContext) -> Awaitable[None]:
    return postgres_changes.poll(batcher, context.sessions, context.settings)


SOURCES: dict[str, Poll] = {
    "rabbitmq": _rabbitmq,
    "redis": _redis,
    "nats": _nats,
    "fs": _file_system,
    "postgres": _postgres,
}
"""The poller of each ``source_kind``: one entry per source module."""


@dataclass
class _Running:
    task: asyncio.Task[None]
    version: datetime


def source_invoker(service: FunctionService) -> Invoke:
    """Invocations of ``service`` as a poller makes them (RequestResponse, as Lambda's pollers do)."""

    async def invoke(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        return await service.invoke(name, payload, qualifier=qualifier)

    return invoke


class EventSources:
    """Leads mappings and runs their pollers while entered."""

    def __init__(
        self, settings: Settings, sessions: SessionMaker, invoke: Invoke, *,
        metrics_registry: CollectorRegistry | None = None, backoff: float = 0.2,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._sessions = sessions
        self._invoke = invoke
        self._destinations = Destinations(settings, sessions)
        self._metrics = source_metrics(metrics_registry)
        self._backoff = backoff
        self.worker_id = f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._running: dict[str, _Running] = {}
        self._loop: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._loop = asyncio.create_task(self._keep(), name="stepline-event-sources")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for uuid_ in list(self._running):
            await self._stop(uuid_)
        with contextlib.suppress(Exception):  # the database may be gone: the leases then expire
            async with unit_of_work(self._sessions) as session:
                await registry.release(session, self.worker_id)

    async def _keep(self) -> None:
        config = self._settings.event_sources
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("event sources: a scan failed")
            await asyncio.sleep(config.scan_seconds)

    async def scan(self) -> None:
        """One round: renew and take leases, start, restart and stop pollers."""
        async with unit_of_work(self._sessions) as session:
            led = await registry.lead(session, self.worker_id, self._settings.event_sources.lease_seconds)
        wanted = {m.uuid: m for m in led if m.enabled}
        for uuid_ in [u for u in self._running if u not in wanted]:
            await self._stop(uuid_)
        for uuid_, mapping in wanted.items():
            running = self._running.get(uuid_)
            if running is not None and running.version == mapping.last_modified and not running.task.done():
                continue
            if running is not None:
                await self._stop(uuid_)
            self._start(mapping)

    def _start(self, row: registry.EventSourceMapping) -> None:
        try:
            view = MappingView.of(row)
        except ValueError as exc:
            log.warning("event source mapping %s: %s", row.uuid, exc)
            return
        batcher = Batcher(
            view, self._invoke, self._sessions, self._destinations, self._metrics, self._settings.region,
            backoff=self._backoff,
        )  # fmt: skip
        task = asyncio.create_task(self._poll(batcher), name=f"stepline-source-{row.uuid}")
        self._running[row.uuid] = _Running(task, row.last_modified)

    async def _poll(self, batcher: Batcher) -> None:
        mapping = batcher.mapping
        try:
            await SOURCES[mapping.source_kind](
                batcher, SourceContext(self._settings, self._sessions, self.worker_id)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the source is unreachable or gone: recorded, tried again later
            error = brokers.scrub(f"{type(exc).__name__}: {exc}", mapping, self._settings)
            log.warning("event source mapping %s: %s", mapping.uuid, error)
            with contextlib.suppress(Exception):
                async with unit_of_work(self._sessions) as session:
                    await registry.report(session, mapping.uuid, "PROBLEM: source unreachable", error)
            await asyncio.sleep(self._settings.event_sources.restart_pause_seconds)

    async def _stop(self, uuid_: str) -> None:
        running = self._running.pop(uuid_, None)
        if running is None:
            return
        running.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running.task
