"""The function runtime as one service: resolve a function, run it in the pool, log and meter it.

    async with FunctionService(settings) as service:
        result = await service.invoke("hello", b'{"a": 1}')

The hot path (a warm invocation) touches no database: function configurations are cached for
``config_cache_seconds`` (0: not cached) and dropped at once by ``forget`` when this process
changes them; an expired entry keeps serving for up to ``stale_seconds`` while one background
lookup refreshes it, and concurrent misses share one lookup, so however many invocations are in
flight, resolving needs at most one registry connection per function. Logs are written in
batches, Event invocations are queued in PostgreSQL and run by a background task.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError

from foundation.registry import functions as registry
from foundation.registry.database import SessionMaker, create_engine, session_maker, unit_of_work
from foundation.settings import Settings
from statemachine import FunctionCall, FunctionResult, StatesError, function_arn, parse_function_ref
from workers.attachments import AttachmentError, Attachments, resolve_attachments
from workers.functions import cgroups, network, sandbox
from workers.functions.codestore import CodeStore
from workers.functions.config import MAX_PAYLOAD_BYTES, FunctionConfig
from workers.functions.errors import (
    InvalidParameterError,
    InvokeError,
    RequestTooLargeError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
)
from workers.functions.event_wakeups import EventWakeups
from workers.functions.logjournal import journal_directory
from workers.functions.logs import LogBook, billed_ms, invocation_lines
from workers.functions.metrics import function_metrics
from workers.functions.pool import EnvironmentPool
from workers.functions.slots import SlotTable

log = logging.getLogger(__name__)
STATE_MACHINE_PAYLOAD_BYTES = 256 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """What Lambda's Invoke API returns."""

    status_code: int
    """200 (RequestResponse), 202 (Event), 204 (DryRun)."""
    payload: bytes
    request_id: str
    executed_version: str = registry.LATEST
    function_error: str | None = None
    """``"Unhandled"`` when the function failed (``payload`` is then its error document)."""
    error_type: str | None = None
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    max_memory_mb: int = 0
    log_result: str = ""
    """The last 4 KB of the invocation's log, base64 (Lambda's X-Amz-Log-Result)."""


class FunctionService:
    """The worker-side runtime; enter it with ``async with``."""

    def __init__(
        self, settings: Settings, *, sessions: SessionMaker | None = None,
        metrics_registry: CollectorRegistry | None = None, config_cache_seconds: float = 1.0,
        stale_seconds: float = 30.0, run_events: bool = True,
        event_retry_delays: tuple[float, ...] = (60.0, 120.0),
    ) -> None:  # fmt: skip
        self.settings = settings
        self._sessions = sessions
        self._engine = (
            None if sessions is not None else create_engine(settings.database.url.get_secret_value(), 4)
        )
        self.code = CodeStore(settings.data_dir.resolve() / "code")
        self.metrics = function_metrics(metrics_registry)
        self._cache_seconds = config_cache_seconds
        self._stale_seconds = stale_seconds
        self._cache: dict[tuple[str, str], tuple[FunctionConfig, float]] = {}
        """(name, qualifier) -> (configuration, fresh until (monotonic))."""
        self._lookups: dict[tuple[str, str], asyncio.Future[FunctionConfig]] = {}
        """Registry lookups in flight, shared by every caller that needs the same key."""
        self._forgotten: dict[str, int] = {}
        """Per function, bumped by ``forget``: a lookup started before it must not fill the cache."""
        self._run_events = run_events
        self._retry_delays = event_retry_delays
        self._stack = contextlib.AsyncExitStack()
        self._background: set[asyncio.Task[None]] = set()
        self._provisioning = asyncio.Lock()
        self._provisioned: dict[str, int] = {}
        """Provisioned environments granted to each function by the last round."""
        self.pool: EnvironmentPool
        self.unprivileged = False
        """Whether sandboxes run as unprivileged host users (see ``sandbox.can_drop_root``)."""
        self.logs: LogBook

    @property
    def sessions(self) -> SessionMaker:
        if self._sessions is None:
            assert self._engine is not None
            self._sessions = session_maker(self._engine)
        return self._sessions

    async def __aenter__(self) -> Self:
        try:
            return await self._start()
        except BaseException:
            await self._stack.aclose()
            raise

    async def _start(self) -> Self:
        if self._engine is not None:
            self._stack.push_async_callback(self._engine.dispose)  # last out
        data_dir = self.settings.data_dir.resolve()
        slots = SlotTable(data_dir / "concurrency", self.settings.sandbox.max_environments)
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
            run_dir=run_dir, bwrap=self.settings.sandbox.bwrap_path, cgroups=driver, slots=slots,
            attachments=self._attachments, idle_seconds=self.settings.sandbox.idle_seconds,
            max_environments=self.settings.sandbox.max_environments,
            unprivileged=self.unprivileged, spares=self.settings.sandbox.spare_environments,
            egress=network.Egress(deny=tuple(self.settings.sandbox.network_deny)),
        )  # fmt: skip
        self._stack.push_async_callback(self.pool.close)
        self.pool.start_reaper()
        journal = journal_directory(data_dir, self.settings.database.url.get_secret_value())
        self.logs = LogBook(self.sessions, journal=journal)
        self.logs.start()
        self._stack.push_async_callback(self.logs.close)
        if self._run_events:
            wakeups = EventWakeups(self.settings.database.url.get_secret_value())
            await self._stack.enter_async_context(wakeups)
            self._spawn(self._event_loop(wakeups), "stepline-function-events")
        self._stack.push_async_callback(self._stop_background)
        self._spawn(self._keep_provisioned(), "stepline-provision")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    # invoking ------------------------------------------------------------------------------

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", timeout_seconds: float | None = None,
    ) -> InvocationResult:  # fmt: skip
        """Invoke a function (raises an ``InvokeError`` when the invocation cannot run)."""
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterError(f"X-Invocation-Type must be one of {', '.join(INVOCATION_TYPES)}")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            )
        config = await self.resolve(name, qualifier)
        if invocation_type == "DryRun":
            return InvocationResult(204, b"", "", executed_version=config.version)
        if invocation_type == "Event":
            async with unit_of_work(self.sessions) as session:
                event = await registry.enqueue_event(
                    session, name, qualifier, payload.decode("utf-8", "replace")
                )
            return InvocationResult(202, b"", event.id, executed_version=config.version)
        return await self._run(config, payload, timeout_seconds)

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        """A Task state's invocation: function errors in the result, invocation failures as StatesError."""
        try:
            name, qualifier = parse_function_ref(call.function)
        except ValueError as exc:
            raise StatesError("Lambda.ResourceNotFoundException", str(exc)) from None
        if len(call.payload) > STATE_MACHINE_PAYLOAD_BYTES:
            raise StatesError(
                "Lambda.RequestTooLargeException",
                f"The payload ({len(call.payload)} bytes) is over {STATE_MACHINE_PAYLOAD_BYTES} bytes",
            )
        try:
            config = await self.resolve(name, qualifier)
            limit = call.timeout_seconds
            state_timeout = limit is not None and limit < config.timeout_seconds
            result = await self._run(config, call.payload, limit if state_timeout else None)
        except InvokeError as exc:
            raise StatesError(f"Lambda.{exc.code}", sdk_cause(exc, name, qualifier)) from None
        if state_timeout and result.error_type == "Sandbox.Timedout":
            raise StatesError("States.Timeout", f"Task timed out after {limit} seconds")
        return FunctionResult(
            payload=result.payload, function_error=result.function_error,
            executed_version=result.executed_version, request_id=result.request_id, status_code=200,
        )  # fmt: skip

    async def _run(
        self, config: FunctionConfig, payload: bytes, timeout_seconds: float | None
    ) -> InvocationResult:
        request_id = str(uuid.uuid4())
        seconds = timeout_seconds if timeout_seconds is not None else config.timeout_seconds
        metrics = self.metrics
        label = config.name
        metrics.invocations.labels(label).inc()
        gauge = metrics.concurrent.labels(label)
        gauge.inc()
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        try:
            ran = await self.pool.invoke(config, request_id, payload, seconds)
        except TooManyRequestsError:
            metrics.throttles.labels(label).inc()
            raise
        except AttachmentError as exc:
            raise InvalidParameterError(str(exc)) from None
        except (OSError, RuntimeError) as exc:
            raise ServiceError(f"could not start an execution environment: {exc}") from exc
        finally:
            gauge.dec()
            metrics.environments.set(self.pool.size)
        outcome = ran.outcome
        duration = outcome.duration_ms or (time.perf_counter() - started) * 1000
        lines = invocation_lines(
            request_id, config.version, outcome.logs, duration_ms=duration, memory_mb=config.memory_mb,
            max_memory_mb=outcome.max_memory_mb, init_duration_ms=ran.init_duration_ms,
        )  # fmt: skip
        self.logs.add(config.name, request_id, lines, started_at)
        metrics.duration.labels(label).observe(duration / 1000)
        metrics.billed_gb_seconds.labels(label).inc(billed_ms(duration) / 1000 * config.memory_mb / 1024)
        if ran.cold:
            metrics.cold_starts.labels(label).inc()
        if outcome.error_type is not None:
            metrics.errors.labels(label).inc()
        tail = "\n".join(lines).encode()[-4096:]
        return InvocationResult(
            200, outcome.payload, request_id, executed_version=config.version,
            function_error="Unhandled" if outcome.error_type is not None else None,
            error_type=outcome.error_type, duration_ms=duration, init_duration_ms=ran.init_duration_ms,
            max_memory_mb=outcome.max_memory_mb, log_result=base64.b64encode(tail).decode(),
        )  # fmt: skip

    # configuration ---------------------------------------------------------------------------

    async def resolve(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The runnable configuration of ``name[:qualifier]``: from the cache while fresh; stale for
        up to ``stale_seconds`` while a background lookup refreshes it; else one shared lookup."""
        key = (name, qualifier or registry.LATEST)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None:
            config, fresh_until = cached
            if fresh_until > now:
                return config
            if fresh_until + self._stale_seconds > now:
                self._lookup(key)  # refreshed behind this invocation
                return config
        return await asyncio.shield(self._lookup(key))

    def _lookup(self, key: tuple[str, str]) -> asyncio.Future[FunctionConfig]:
        """The registry lookup of ``key``, started unless one is already running."""
        running = self._lookups.get(key)
        if running is not None:
            return running
        task = asyncio.ensure_future(self._fetch(key))
        self._lookups[key] = task
        task.add_done_callback(_consume)
        task.add_done_callback(lambda _: self._lookups.pop(key) if self._lookups.get(key) is task else None)
        return task

    async def _fetch(self, key: tuple[str, str]) -> FunctionConfig:
        name, qualifier = key
        generation = self._forgotten.get(name, 0)
        try:
            async with self.sessions() as session:
                found = await registry.resolve_function(session, name, qualifier)
        except registry.FunctionNotFound as exc:
            self._cache.pop(key, None)
            arn = function_arn(name, qualifier, self.settings.region)
            raise ResourceNotFoundError(f"Function not found: {arn}") from exc
        config = self.config_of(found)
        if self._cache_seconds > 0 and generation == self._forgotten.get(name, 0):  # no ``forget`` since
            self._cache[key] = (config, time.monotonic() + self._cache_seconds)
        return config

    def config_of(self, found: registry.ResolvedFunction) -> FunctionConfig:
        s = found.settings
        code_dir = self.code.path(s.code_sha256)
        if not code_dir.is_dir():
            raise ServiceError(f"the code of {found.name} ({s.code_sha256}) is missing from {self.code.root}")
        return FunctionConfig(
            name=found.name, runtime=s.runtime, handler=s.handler, code_dir=code_dir, version=found.version,
            memory_mb=s.memory_size, timeout_seconds=float(s.timeout), environment=dict(s.environment),
            tmp_mb=s.ephemeral_storage, network=s.network, file_system_configs=tuple(s.file_system_configs),
            db_proxies=tuple(s.db_proxies), reserved_concurrency=found.reserved_concurrency,
            provisioned_concurrency=found.provisioned_concurrency, region=self.settings.region,
        )  # fmt: skip

    async def forget(self, name: str, *, retire: bool = False) -> None:
        """Drop the cached configuration of ``name``; ``retire`` also stops its idle environments."""
        self._forgotten[name] = self._forgotten.get(name, 0) + 1
        for key in [k for k in self._cache if k[0] == name]:
            del self._cache[key]
        for key in [k for k in self._lookups if k[0] == name]:
            del self._lookups[key]  # callers from now on look up afresh
        if retire:
            await self.pool.retire(name)

    async def provision(self, name: str) -> None:
        """Bring provisioned environments in line with the registry now (after ``name``'s
        concurrency or code changed): one round of ``_keep_provisioned``."""
        await self.forget(name)
        await self._provision_round()

    async def _attachments(self, config: FunctionConfig) -> Attachments:
        return await resolve_attachments(config.attachment_config(), self.settings.data_dir.resolve())

    async def _keep_provisioned(self) -> None:
        """Provision every function the registry gives provisioned concurrency, at start and then
        every ``provision_check_seconds``: a change made through another process (or its new code)
        reaches this one, and a function whose provisioned concurrency went to 0 (or that was
        deleted) gives its environments up to idle reaping."""
        while True:
            try:
                await self._provision_round()
            except (OSError, DBAPIError) as exc:
                log.warning("cannot read provisioned concurrency: %s", exc)
            await asyncio.sleep(self.settings.sandbox.provision_check_seconds)

    async def _provision_round(self) -> None:
        """One round at a time: two at once would each start the environments the other is starting."""
        async with self._provisioning:
            self._provisioned = await self._provision_all(self._provisioned)

    async def _provision_all(self, before: dict[str, int]) -> dict[str, int]:
        """Start what the registry asks for, within ``registry.provisioned_budget`` of this runtime's
        cap even when the registry asks for more (rows written by an older version, or by requests
        that raced); returns the environments granted to each function."""
        async with self.sessions() as session:
            wanted = {
                f.name: f.provisioned_concurrency
                for f in await registry.list_functions(session, 10_000)
                if f.provisioned_concurrency
            }
        granted = within_budget(wanted, registry.provisioned_budget(self.settings.sandbox.max_environments))
        for name in sorted(wanted.keys() | before.keys()):
            if granted.get(name, 0) < wanted.get(name, 0) and before.get(name) != granted.get(name, 0):
                log.warning(
                    "provisioned concurrency of %s: %d of %d started, to stay within %d environments",
                    name, granted.get(name, 0), wanted[name], self.settings.sandbox.max_environments,
                )  # fmt: skip
            try:
                config = await self.resolve(name, None)
                await self.pool.provision(config, granted.get(name, 0))
            except ResourceNotFoundError:
                await self.pool.retire(name)
            except InvokeError as exc:
                log.warning("provisioned concurrency of %s not started: %s", name, exc)
        return granted

    # Event invocations -----------------------------------------------------------------------

    async def _event_loop(self, wakeups: EventWakeups) -> None:
        """Run queued Event invocations; a function error is retried twice, as Lambda does."""
        while True:
            try:
                async with unit_of_work(self.sessions) as session:
                    events = await registry.claim_events(session, 8, lease_seconds=960)
            except OSError as exc:
                log.warning("cannot read queued invocations: %s", exc)
                events = []
            if not events:
                await wakeups.wait()
                continue
            await asyncio.gather(*(self._run_event(e, wakeups) for e in events))

    async def _run_event(self, event: registry.FunctionEvent, wakeups: EventWakeups) -> None:
        retry_in: float | None = None
        try:
            result = await self.invoke(event.function_name, event.payload.encode(), qualifier=event.qualifier)
            response, error = result.payload.decode("utf-8", "replace"), result.error_type
        except InvokeError as exc:
            response, error = exc.message, exc.code
        if error is not None and event.attempts <= len(self._retry_delays):
            retry_in = self._retry_delays[event.attempts - 1]
        async with unit_of_work(self.sessions) as session:
            await registry.finish_event(
                session, event.id, response=response, function_error=error, retry_in=retry_in
            )
        if retry_in is not None:
            wakeups.wake_in(retry_in)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _stop_background(self) -> None:
        tasks: list[asyncio.Future[Any]] = [*self._background, *self._lookups.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # their ends, not a cancellation of this one


def within_budget(wanted: dict[str, int], budget: int) -> dict[str, int]:
    """Provisioned environments per function, in name order until ``budget`` is spent: the same
    grants in every process, whatever the registry holds."""
    granted: dict[str, int] = {}
    for name in sorted(wanted):
        granted[name] = min(wanted[name], budget)
        budget -= granted[name]
    return granted


def sdk_cause(exc: InvokeError, name: str, qualifier: str | None) -> str:
    """The cause Step Functions gives a failed Lambda call: the SDK's message and its details."""
    message = exc.message
    if isinstance(exc, ResourceNotFoundError):
        message = f"Function not found: {function_arn(name, qualifier or registry.LATEST)}"
    return (
        f"{message} (Service: AWSLambda; Status Code: {exc.status}; Error Code: {exc.code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def _consume(task: asyncio.Future[FunctionConfig]) -> None:
    """Retrieve a background refresh's failure (a later call will see it again) so none goes unlogged."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("refreshing a function configuration failed: %s", task.exception())


@contextlib.contextmanager
def _temporary_directory() -> Iterator[str]:
    """A short private directory for Runtime API sockets (socket paths are limited to 108 bytes)."""
    path = tempfile.mkdtemp(prefix="stepline-rt-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
