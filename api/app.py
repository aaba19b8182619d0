"""The FastAPI application: ``create_app(settings)``.

Feature areas plug in at two places below: ``_include_routers`` (their router) and
``_lifespan_hooks`` (an async context manager entered after the registry and Temporal are up and left
before they close, e.g. the function runtime's, which sets ``state.functions``).

Where functions run is the caller's choice (``functions``): ``"in-process"`` runs sandboxes, database
proxies and file systems in this process (``stepline dev``, and tests embedding the API);
``"remote"`` runs none and hands every invocation to a live worker (``stepline api``; see
``api.runtime``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Literal

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import errors
from api.aws.auth import Gate
from api.aws.lambda_endpoint import mount_lambda
from api.aws.scheduler_endpoint import mount_scheduler
from api.aws.stepfunctions import mount_stepfunctions
from api.colocated_worker import ColocatedWorker, worker_hook
from api.console import is_console_path, mount_console
from api.function_url_server import router as function_url_router
from api.request_limits import RequestLimits
from api.routes import (
    activities,
    blueprints,
    code_signing,
    db_proxies,
    event_buses,
    event_invoke,
    event_source_mappings,
    execution_logs,
    executions,
    file_systems,
    function_aliases,
    function_urls,
    health,
    images,
    integrations,
    layers,
    machine_aliases,
    map_runs,
    mock_configs,
    schedules,
    state_machines,
    test_state,
)
from api.routes import functions as function_routes
from api.runtime.in_process import in_process
from api.runtime.remote import remote
from api.services.function_urls import is_function_url
from api.state import AppState, Metrics
from foundation.db import check_migrated
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings

LifespanHook = Callable[[AppState], AbstractAsyncContextManager[None]]
Functions = Literal["in-process", "remote"]

OPEN_PATHS = frozenset({"/healthz"})
"""Paths served without the bearer token (liveness probes)."""


def _include_routers(app: FastAPI) -> None:
    # The hot paths first, in routers of their own: routes are tried in order at ~3-5 us each, and
    # the invocation route came after ~45 others (137 us per request), sync executions after ~15.
    app.include_router(function_routes.invocations_router)
    app.include_router(executions.sync_router)
    app.include_router(health.router)
    app.include_router(activities.router)
    app.include_router(state_machines.router)
    app.include_router(machine_aliases.router)
    app.include_router(test_state.router)
    app.include_router(mock_configs.router)
    app.include_router(executions.router)
    app.include_router(map_runs.router)
    app.include_router(execution_logs.router)
    app.include_router(db_proxies.router)
    app.include_router(file_systems.router)
    app.include_router(function_routes.router)
    app.include_router(function_aliases.router)
    app.include_router(event_invoke.router)
    app.include_router(event_buses.router)
    app.include_router(schedules.router)
    app.include_router(schedules.groups_router)
    app.include_router(event_source_mappings.router)
    app.include_router(function_urls.router)
    app.include_router(function_url_router)
    app.include_router(blueprints.router)
    app.include_router(layers.router)
    app.include_router(code_signing.router)
    app.include_router(images.router)
    app.include_router(integrations.router)
    mount_lambda(app)
    mount_stepfunctions(app)
    mount_scheduler(app)
    mount_console(app)


def _lifespan_hooks(functions: Functions) -> list[LifespanHook]:
    return [_in_process_functions if functions == "in-process" else _remote_functions]


@asynccontextmanager
async def _in_process_functions(state: AppState) -> AsyncIterator[None]:
    """The function runtime in this process; its ``FunctionService`` serves Task states directly."""
    async with in_process(state.settings, state.sessions, state.metrics.registry) as runtime:
        state.functions, state.function_invoker = runtime, runtime.service
        try:
            yield
        finally:
            state.functions = state.function_invoker = None


@asynccontextmanager
async def _remote_functions(state: AppState) -> AsyncIterator[None]:
    """Invocations handed to live workers: no sandbox and no database proxy in this process."""
    async with remote(state.settings, state.sessions, state.metrics.registry) as runtime:
        state.functions = state.function_invoker = runtime
        try:
            yield
        finally:
            state.functions = state.function_invoker = None


def create_app(
    settings: Settings | None = None,
    *,
    worker: ColocatedWorker | None = None,
    functions: Functions = "in-process",
) -> FastAPI:
    """The API over the registry at ``settings.database`` and Temporal at ``settings.temporal``,
    running functions where ``functions`` says; with ``worker``, a Temporal worker in the same
    process shares its client, runtime and pool."""
    settings = settings or Settings()
    hooks = _lifespan_hooks(functions) + ([worker_hook(worker)] if worker is not None else [])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database.url.get_secret_value(), settings.database.pool_size)
        try:
            await check_migrated(engine)
            temporal = await Client.connect(settings.temporal.address, namespace=settings.temporal.namespace)
            state = AppState(settings, engine, session_maker(engine), temporal, app.state.metrics)
            app.state.stepline = state
            async with AsyncExitStack() as stack:
                for hook in hooks:
                    await stack.enter_async_context(hook(state))
                yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Stepline",
        version="0.1.0",
        summary="Amazon States Language state machines on Temporal, with sandboxed functions.",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    errors.install(app)
    _include_routers(app)
    _install_middleware(app, settings)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    token = settings.api.token.get_secret_value() if settings.api.token is not None else None
    gate = Gate(settings, token, lambda scope: scope["app"].state.stepline.sessions)
    app.add_middleware(_AuthenticateAndMeasure, gate=gate, metrics=app.state.metrics)
    app.add_middleware(RequestLimits)  # outermost: caps every byte any layer reads (SigV4 hashes bodies)


class _AuthenticateAndMeasure:
    """Bearer-token check and request metrics as a plain ASGI middleware: Starlette's
    ``@app.middleware("http")`` (BaseHTTPMiddleware) costs about 0.5 ms per request, a sixth of the
    budget of a warm function invocation through the API."""

    def __init__(self, app: ASGIApp, *, gate: Gate, metrics: Metrics) -> None:
        self.app = app
        self.gate = gate
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if (
            path not in OPEN_PATHS
            and not is_console_path(scope["method"], path)
            and not is_function_url(path)
        ):
            receive, refused = await self.gate.admit(scope, receive)  # bearer token or SigV4 (api.aws.auth)
            if refused is not None:
                await refused(scope, receive, send)
                return
        started = time.perf_counter()
        status = [500]

        async def send_measured(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_measured)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
