"""One running proxy: its pool and the Unix sockets that sandboxes reach it through.

The socket directory holds ``.s.PGSQL.5432`` (the PostgreSQL protocol, so drivers connect with
``host=<dir>``) and ``stepline.sock`` (the small JSON protocol of the bundled clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from pathlib import Path

from workers.dbproxy import native, pgwire
from workers.dbproxy.pool import Pool, PoolConfig
from workers.dbproxy.server import ServerError
from workers.dbproxy.wire import CANCEL_REQUEST, GSS_REQUEST, PROTOCOL_3, SSL_REQUEST, WireSession

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


class SocketPathTooLong(ValueError):
    """The socket directory is too deep for a Unix socket path."""


class Proxy:
    """Serves one proxy's sockets in ``directory`` over a pool of ``config.size`` connections."""

    def __init__(self, config: PoolConfig, directory: Path) -> None:
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

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        loop = asyncio.get_running_loop()
        for name, handler in ((WIRE_SOCKET, self._serve_wire), (NATIVE_SOCKET, self._serve_native)):
            path = self.directory / name
            path.unlink(missing_ok=True)
            server = await loop.create_unix_server(lambda h=handler: self._accept(h), str(path), backlog=1024)  # type: ignore[misc]
            os.chmod(
                path, 0o777
            )  # the sandboxed user may be anyone; the directory is only bound where allowed
            self._servers.append(server)

    def _accept(self, handler: object) -> pgwire.MessageStream:
        stream = pgwire.MessageStream()
        original = stream.connection_made

        def made(transport: asyncio.BaseTransport) -> None:
            original(transport)
            task = asyncio.get_running_loop().create_task(handler(stream))  # type: ignore[operator]
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        stream.connection_made = made  # type: ignore[method-assign]
        return stream

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
