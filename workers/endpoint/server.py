"""The worker's invoke endpoint: ``wire`` over a Unix socket (and TCP when configured), serving a
``LocalRuntime`` to API processes that run no function runtime of their own.

A bare asyncio server rather than an ASGI app: the hop is on the hot path of every direct invocation
through ``stepline api``, and parsing one request line, three headers and a Content-Length body
costs microseconds. Stopping: the worker leaves the registry first, keeps answering for
``DRAIN_SECONDS`` (APIs refresh their list of live workers every second), then closes its idle
connections and gives invocations in flight up to ``GRACE_SECONDS`` to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from foundation.registry.database import SessionMaker
from foundation.settings import Settings
from statemachine import FunctionCall, StatesError
from workers.endpoint import wire
from workers.endpoint.local import LocalRuntime
from workers.endpoint.presence import Presence, announced
from workers.functions.errors import InvokeError

log = logging.getLogger(__name__)

DRAIN_SECONDS = 1.5
GRACE_SECONDS = 30.0
STREAM_LIMIT = 64 * 1024
"""Bounds a request's head (the body is read by its Content-Length)."""


@asynccontextmanager
async def serve_endpoint(
    settings: Settings, runtime: LocalRuntime, sessions: SessionMaker
) -> AsyncIterator[Presence]:
    """Listen, register in the registry, serve until the block ends; yields where it listens."""
    endpoint = _Endpoint(runtime, wire.endpoint_token(settings))
    directory = Path(tempfile.mkdtemp(prefix="stepline-worker-"))  # short: socket paths have 108 bytes
    servers: list[asyncio.Server] = []
    try:
        unix_path = str(directory / "invoke.sock")
        servers.append(await asyncio.start_unix_server(endpoint.connection, unix_path, limit=STREAM_LIMIT))
        tcp_address = None
        if settings.worker.listen:
            host, port = split_address(settings.worker.listen)
            tcp = await asyncio.start_server(endpoint.connection, host, port, limit=STREAM_LIMIT)
            servers.append(tcp)
            tcp_address = settings.worker.advertise or _advertised(host, tcp.sockets[0].getsockname()[1])
        presence = Presence(uuid.uuid4().hex, wire.host_id(), unix_path, tcp_address)
        async with announced(sessions, presence):
            yield presence
        await asyncio.sleep(DRAIN_SECONDS)  # unregistered: APIs that still chose this worker are answered
    finally:
        for server in servers:
            server.close()
        await endpoint.close(GRACE_SECONDS)
        shutil.rmtree(directory, ignore_errors=True)


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``) as (host, port); ValueError names what is wrong."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"not HOST:PORT: {address!r}")
    return host.strip("[]"), int(port)


def _advertised(host: str, port: int) -> str:
    """What APIs on other machines dial when ``advertise`` is not set."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Endpoint:
    def __init__(self, runtime: LocalRuntime, token: bytes) -> None:
        self.runtime = runtime
        self.token = token
        self.idle: set[asyncio.Task[Any]] = set()
        """Connection handlers waiting for their next request."""
        self.busy: set[asyncio.Task[Any]] = set()
        self.closing = False

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            while not self.closing:
                self.idle.add(task)
                try:
                    path, meta, payload = await wire.read_request(reader, self.token)
                except wire.WireError as exc:
                    writer.write(wire.response_bytes(exc.status, exc.meta()))
                    await writer.drain()
                    return
                finally:
                    self.idle.discard(task)
                self.busy.add(task)
                try:
                    status, out, body = await self.dispatch(path, meta, payload)
                    writer.write(wire.response_bytes(status, out, body))
                    await writer.drain()
                finally:
                    self.busy.discard(task)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the API went away (or sent a head over the limit): nothing to answer
        finally:
            writer.close()

    async def dispatch(
        self, path: str, meta: dict[str, Any], payload: bytes
    ) -> tuple[int, dict[str, Any], bytes]:
        try:
            if path == wire.INVOKE:
                result = await self.runtime.invoke(
                    _text(meta, "function"), payload, qualifier=_optional_text(meta, "qualifier", None),
                    invocation_type=_optional_text(meta, "type", "RequestResponse") or "RequestResponse",
                    client_context=_optional_text(meta, "client_context", None),
                )  # fmt: skip
                return (200, *wire.to_meta(result))
            if path == wire.INVOKE_TASK:
                try:
                    done = await self.runtime.invoke_for_state_machine(
                        wire.from_meta(FunctionCall, meta, payload)
                    )
                except StatesError as exc:
                    return 200, {"states_error": exc.name, "cause": exc.cause}, b""
                return (200, *wire.to_meta(done))
            if path == wire.CHANGED:
                await self.runtime.changed(
                    _text(meta, "function"),
                    retire=bool(meta.get("retire")),
                    provision=bool(meta.get("provision")),
                )
            elif path == wire.PREPARE:
                await self.runtime.prepare(_text(meta, "function"), _optional_text(meta, "version", None))
            elif path == wire.FLUSH_LOGS:
                await self.runtime.flush_logs()
            elif path == wire.IN_USE:
                return 200, {"in_use": await self.runtime.in_use(_text(meta, "function"))}, b""
            return 200, {}, b""
        except InvokeError as exc:
            status, out = wire.error_meta(exc)
            return status, out, b""
        except wire.WireError as exc:
            return exc.status, exc.meta(), b""
        except Exception as exc:  # the API gets a ServiceException, the worker's log the stack trace
            log.exception("invoke endpoint: %s failed", path)
            return (
                500,
                {"error": "ServiceException", "message": f"the worker failed: {type(exc).__name__}"},
                b"",
            )

    async def close(self, grace: float) -> None:
        """Close idle connections now, and the busy ones once they answered (or after ``grace``)."""
        self.closing = True
        for task in self.idle:
            task.cancel()
        if self.busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self.busy, return_exceptions=True), grace)
        for task in self.busy:
            task.cancel()


def _text(meta: dict[str, Any], key: str) -> str:
    value = meta.get(key)
    if not isinstance(value, str):
        raise wire.WireError(400, f"{key} must be text")
    return value


def _optional_text(meta: dict[str, Any], key: str, default: str | None) -> str | None:
    return default if meta.get(key) is None else _text(meta, key)
