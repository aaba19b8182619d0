"""One running proxy: its pool and the Unix sockets that sandboxes reach it through.

The socket directory holds ``.s.PGSQL.5432`` (the PostgreSQL protocol, so drivers connect with
``host=<dir>``) and ``stepline.sock`` (the small JSON protocol of the bundled clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import struct
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

from workers.dbproxy import native, pgwire
from workers.dbproxy.pool import Pool, PoolConfig
from workers.dbproxy.server import ServerError
from workers.dbproxy.wire import (
    CANCEL_REQUEST,
    GSS_REQUEST,
    PROTOCOL_3,
    SSL_REQUEST,
    WireSession,
    startup_refusal,
)

log = logging.getLogger(__name__)

WIRE_SOCKET = ".s.PGSQL.5432"
NATIVE_SOCKET = "stepline.sock"
MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to 107 bytes on Linux."""

REPORTED_PARAMETERS = (
    "server_version",
    "server_encoding",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "integer_datetimes",
    "standard_conforming_strings",
)


Handler = Callable[[pgwire.MessageStream], Coroutine[Any, Any, None]]


def peer_uid(stream: pgwire.MessageStream) -> int | None:
    """The host uid of the process at the other end of a Unix socket (None if unknown)."""
    sock = stream.transport.get_extra_info("socket") if stream.transport is not None else None
    if sock is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


class SocketPathTooLong(ValueError):
    """The socket directory is too deep for a Unix socket path."""


class Proxy:
    """Serves one proxy's sockets in ``directory`` over a pool of ``config.size`` connections."""

    def __init__(self, config: PoolConfig, directory: Path, allowed_uids: Iterable[int] = ()) -> None:
        longest = directory / NATIVE_SOCKET
        if len(str(longest)) > MAX_SOCKET_PATH:
            raise SocketPathTooLong(
                f"socket path {longest} is longer than {MAX_SOCKET_PATH} bytes: use a shorter data directory"
            )
        self.config = config
        self.directory = directory
        self.pool = Pool(config)
        self._servers: list[asyncio.AbstractServer] = []
        self._sessions: dict[tuple[int, int], WireSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._parameters: dict[str, str] = {}
        self.allowed_uids = {os.geteuid(), *allowed_uids}
        """Host users that may connect (checked with SO_PEERCRED): this process and the sandbox users."""

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o711)  # sandbox users reach the sockets; they need not list them
        loop = asyncio.get_running_loop()
        for name, handler in ((WIRE_SOCKET, self._serve_wire), (NATIVE_SOCKET, self._serve_native)):
            path = self.directory / name
            path.unlink(missing_ok=True)
            on_connect = functools.partial(self._accepted, handler)
            server = await loop.create_unix_server(
                functools.partial(pgwire.MessageStream, on_connect), str(path), backlog=1024
            )
            os.chmod(path, 0o777)  # sandbox users differ; who may connect is checked on accept
            self._servers.append(server)

    def reconfigure(self, config: PoolConfig) -> None:
        """New pool settings (size, timeouts, target) for the same proxy, without a restart."""
        if config.target != self.config.target:
            self._parameters = {}
        self.config = config
        self.pool.reconfigure(config)

    def allow(self, uid: int) -> None:
        """Let host user ``uid`` (a sandbox's) connect."""
        self.allowed_uids.add(uid)

    def _accepted(self, handler: Handler, stream: pgwire.MessageStream) -> None:
        uid = peer_uid(stream)
        if uid not in self.allowed_uids:
            log.warning("db proxy %s: refused a connection from uid %s", self.config.name, uid)
            stream.close()
            return
        task = asyncio.get_running_loop().create_task(handler(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def parameters(self) -> dict[str, str]:
        """The server's reported parameters, learnt from the first connection."""
        if not self._parameters:
            conn = await self.pool.acquire()
            self._parameters = {k: v for k, v in conn.parameters.items() if k in REPORTED_PARAMETERS}
            await self.pool.release(conn)
        return self._parameters

    async def _serve_wire(self, stream: pgwire.MessageStream) -> None:
        try:
            body = await stream.read_startup()
            code = pgwire.int32(body)
            if code in (SSL_REQUEST, GSS_REQUEST):
                stream.write(b"N")
                body = await stream.read_startup()
                code = pgwire.int32(body)
            if code == CANCEL_REQUEST:
                session = self._sessions.get((pgwire.int32(body, 4), pgwire.int32(body, 8)))
                if session is not None:
                    await session.cancel_running()
                stream.close()
                return
            if code != PROTOCOL_3:
                stream.write(
                    pgwire.error_response(
                        "0A000", f"unsupported protocol {code >> 16}.{code & 0xFFFF}", "FATAL"
                    )
                )
                stream.close()
                return
            refusal = startup_refusal(pgwire.startup_params(body))
            if refusal is not None:
                stream.write(pgwire.error_response("0A000", refusal, "FATAL"))
                stream.close()
                return
            try:
                parameters = await self.parameters()
            except ServerError as exc:
                stream.write(pgwire.error_response(exc.code, str(exc), "FATAL"))
                stream.close()
                return
            key = (secrets.randbits(31), secrets.randbits(32))
            session = WireSession(stream, self.pool, key)
            self._sessions[key] = session
            try:
                await session.serve(body, parameters)
            finally:
                del self._sessions[key]
        except (pgwire.StreamClosed, pgwire.ProtocolViolation):
            stream.close()

    async def _serve_native(self, stream: pgwire.MessageStream) -> None:
        await native.NativeSession(stream, self.pool).serve()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pool.close()
        for name in (WIRE_SOCKET, NATIVE_SOCKET):
            (self.directory / name).unlink(missing_ok=True)
