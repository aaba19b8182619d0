"""The function runtime as one service: its parts, started and stopped together.

    async with FunctionService(settings) as service:
        result = await service.invoke("hello", b'{"a": 1}')

The parts, one job each: ``resolver`` (which configuration a function runs with, cached:
``resolver.py``), ``pool`` (warm sandboxes: ``pool.py``), ``invocations`` (the invocation path:
``invocations.py``), ``provisioner`` (provisioned concurrency: ``provisioning.py``), ``events`` (the
Event queue and its consumer: ``event_queue.py``), ``logs`` (invocation logs, written in batches:
``logs.py``). This class starts them in order, stops them in reverse, and forwards its users' calls:
``invoke`` (Lambda's Invoke API: direct invocations), ``invoke_for_state_machine`` (Task states),
``forget`` and ``provision`` (after a function changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from foundation.registry.database import SessionMaker, create_engine, session_maker
from foundation.settings import Settings
from statemachine import FunctionCall, FunctionResult
from workers.attachments import resolve_attachments
from workers.functions import cgroups, network, sandbox, staging
from workers.functions.aws_api import AwsApiAccess
from workers.functions.codestore import CodeStore
from workers.functions.config import FunctionConfig
from workers.functions.destinations import Destinations
from workers.functions.errors import InvokeError
from workers.functions.event_queue import EventQueue
from workers.functions.event_wakeups import EventWakeups
from workers.functions.invocations import Invocations
from workers.functions.logjournal import journal_directory
from workers.functions.logs import LogBook
from workers.functions.metrics import function_metrics
from workers.functions.pool import EnvironmentPool
from workers.functions.provisioning import Provisioner
from workers.functions.resolver import ConfigResolver
from workers.functions.slots import SlotTable
from workers.mounts import Attachments

log = logging.getLogger(__name__)
PREPARE_WAIT_SECONDS = 25.0
"""How long ``prepare`` waits for a deployment's environment (its INIT has 10 s, its start some)."""


class FunctionService:
    """The worker-side runtime; enter it with ``async with``."""

    def __init__(
        self, settings: Settings, *, sessions: SessionMaker | None = None,
        metrics_registry: CollectorRegistry | None = None, config_cache_seconds: float = 1.0,
        stale_seconds: float = 30.0, run_events: bool = True,
        event_retry_delays: tuple[float, ...] = (60.0, 120.0),
    ) -> None:  # fmt: skip
        self.settings = settings
        self._engine: AsyncEngine | None = None
        if sessions is None:
            self._engine = create_engine(settings.database.url.get_secret_value(), 4)
            sessions = session_maker(self._engine)
        self.sessions: SessionMaker = sessions
        self.code = CodeStore(settings.data_dir.resolve() / "code")
        self.metrics = function_metrics(metrics_registry)
        self.resolver = ConfigResolver(
            sessions,
            self.code,
            settings.region,
            cache_seconds=config_cache_seconds,
            stale_seconds=stale_seconds,
        )
        self.events = EventQueue(
            sessions, event_retry_delays, Destinations(settings, sessions), region=settings.region
        )
        self._run_events = run_events
        self._stack = contextlib.AsyncExitStack()
        self._background: set[asyncio.Task[None]] = set()
        self.unprivileged = False
        """Whether sandboxes run as unprivileged host users (see ``sandbox.can_drop_root``)."""
        # Started by ``__aenter__``:
        self.pool: EnvironmentPool
        self.logs: LogBook
        self.invocations: Invocations
        self.provisioner: Provisioner

    async def __aenter__(self) -> Self:
        try:
            return await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    # the parts' calls ------------------------------------------------------------------------

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", timeout_seconds: float | None = None,
        client_context: str | None = None,
    ) -> FunctionResult:  # fmt: skip
        """Lambda's Invoke API, the entry point of direct invocations: ``Invocations.invoke`` says
        what each parameter does; raises an ``InvokeError`` when the invocation cannot run."""
        return await self.invocations.invoke(
            name, payload, qualifier=qualifier, invocation_type=invocation_type,
            timeout_seconds=timeout_seconds, client_context=client_context,
        )  # fmt: skip

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        """A Task state's invocation (``workers.contracts.Invoker``; ``Invocations`` says more)."""
        return await self.invocations.invoke_for_state_machine(call)

    async def resolve(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The configuration ``name[:qualifier]`` runs with (``ConfigResolver.resolve``)."""
        return await self.resolver.resolve(name, qualifier)

    async def forget(self, name: str, *, retire: bool = False) -> None:
        """Drop the cached configuration of ``name``; ``retire`` also stops its idle environments."""
        self.resolver.forget(name)
        if retire:
            await self.pool.retire(name)

    async def prepare(self, name: str, version: str | None = None) -> None:
        """``name`` was deployed (created, its code or configuration updated, ``version`` published):
        prepare the environment its first cold start takes (``EnvironmentPool.prepare``: container
        images only) and wait for it, ``PREPARE_WAIT_SECONDS`` at most (it goes on after that). Best
        effort: a function gone meanwhile is left alone."""
        try:
            config = await self.resolver.resolve(name, version)
        except InvokeError as exc:
            log.info("not preparing %s: %s", name, exc.message)
            return
        except Exception:  # (the registry unreachable: its first cold start starts one as ever)
            log.warning("could not read %s to prepare an environment of it", name, exc_info=True)
            return
        preparing = self.pool.prepare(config)
        if preparing is not None:  # done (or failed: its first cold start shows why) when this returns
            await asyncio.wait({preparing}, timeout=PREPARE_WAIT_SECONDS)

    async def provision(self, name: str) -> None:
        """Bring provisioned environments in line with the registry now (after ``name``'s
        concurrency or code changed): one round of the provisioner."""
        self.resolver.forget(name)
        await self.provisioner.round()

    # lifecycle -------------------------------------------------------------------------------

    async def _start(self) -> Self:
        if self._engine is not None:
            self._stack.push_async_callback(self._engine.dispose)  # last out
        data_dir = self.settings.data_dir.resolve()
        sandboxes = self.settings.sandbox
        slots = SlotTable(data_dir / "concurrency", sandboxes.max_environments)
        self._stack.callback(slots.close)
        run_dir = Path(self._stack.enter_context(_temporary_directory()))
        data_dir.mkdir(parents=True, exist_ok=True)
        self.unprivileged = sandbox.can_drop_root(data_dir)
        if not self.unprivileged and os.geteuid() == 0:
            log.warning(
                "sandboxes run as root mapped into a user namespace: make %s and its parents searchable "
                "by others (chmod o+x) to run them as unprivileged users", data_dir,
            )  # fmt: skip
        driver = cgroups.detect("stepline")
        if driver is not None:
            driver.remove_stale()
        self.pool = EnvironmentPool(
            run_dir=run_dir, bwrap=sandboxes.bwrap_path, cgroups=driver, slots=slots,
            attachments=self._attachments, idle_seconds=sandboxes.idle_seconds,
            prepared_idle_seconds=sandboxes.prepared_idle_seconds,
            max_environments=sandboxes.max_environments, unprivileged=self.unprivileged,
            spares=sandboxes.spare_environments, egress=network.Egress(deny=tuple(sandboxes.network_deny)),
            aws_api=AwsApiAccess.from_settings(self.settings),
        )  # fmt: skip
        self._stack.push_async_callback(self.pool.close)
        self.pool.start_reaper()
        journal = journal_directory(data_dir, self.settings.database.url.get_secret_value())
        self.logs = LogBook(self.sessions, journal=journal)
        self.logs.start()
        self._stack.push_async_callback(self.logs.close)
        self.invocations = Invocations(self.resolver, self.pool, self.logs, self.metrics, self.events)
        self.provisioner = Provisioner(
            self.sessions, self.resolver, self.pool,
            max_environments=sandboxes.max_environments, check_seconds=sandboxes.provision_check_seconds,
        )  # fmt: skip
        if self._run_events:
            wakeups = EventWakeups(self.settings.database.url.get_secret_value())
            await self._stack.enter_async_context(wakeups)
            self._spawn(self.events.consume(self.invocations.invoke, wakeups), "stepline-function-events")
        self._stack.push_async_callback(self._stop_background)
        self._spawn(self.provisioner.keep(), "stepline-provision")
        return self

    async def _attachments(self, config: FunctionConfig) -> Attachments:
        return await resolve_attachments(config.attachment_config(), self.settings.data_dir.resolve())

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _stop_background(self) -> None:
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # their ends, not a cancellation of this one
        await self.resolver.close()


@contextlib.contextmanager
def _temporary_directory() -> Iterator[str]:
    """A short private directory for Runtime API sockets (socket paths are limited to 108 bytes).
    Gone at once on the way out, its files deleted meanwhile (``staging.remove_later``: unlinking
    the SDK's links took 0.4-2.5 s of every stop)."""
    path = tempfile.mkdtemp(prefix="stepline-rt-")
    try:
        yield path
    finally:
        staging.remove_later(Path(path))
