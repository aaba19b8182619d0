"""One worker's invoke endpoint as the API reaches it: kept-alive connections, one request at a time
on each, over its Unix socket when it runs on this machine (else TCP).

A request either never reached the worker (``Unreachable``: the caller may try another worker) or
did, and then it gets the worker's answer or a ``ServiceError`` saying the worker stopped before
answering; it is never sent twice, since the function may have run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from workers.endpoint import wire
from workers.endpoint.server import STREAM_LIMIT, split_address
from workers.functions.errors import ServiceError

log = logging.getLogger(__name__)

CONNECT_SECONDS = 2.0
MAX_IDLE = 32
"""Idle connections kept per worker (more are closed once their request is answered)."""


class Unreachable(Exception):
    """No connection could be made: the request was not sent."""


@dataclass(frozen=True)
class Address:
    worker_id: str
    unix_path: str | None
    """Set only when the worker runs on this machine."""
    tcp_address: str | None

    def __str__(self) -> str:
        return self.unix_path or self.tcp_address or "(no address)"


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        """Not closed by either side (a worker that stopped closed its idle connections)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.transport.abort()


class Peer:
    """A live worker's endpoint and the connections to it."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self.id = address.worker_id
        self.unreachable_until = 0.0
        """``loop.time()`` before which no new request is sent here (a connection attempt failed)."""
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._gone: str | None = None

    async def request(self, data: bytes) -> tuple[int, dict[str, object], bytes]:
        """Send one request (``wire.request_bytes``) and read the answer."""
        connection = self._take_idle() or await self._connect()
        self._busy.add(connection)
        try:
            connection.writer.write(data)
            answer = await wire.read_response(connection.reader)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            wire.WireError,
        ) as exc:
            connection.close()
            self._drop_idle()  # the worker may be dying: never send the next request into it
            raise ServiceError(self._lost(exc)) from None
        except BaseException:  # cancelled mid-request: the connection is mid-message
            connection.close()
            raise
        finally:
            self._busy.discard(connection)
        if self._gone is None and len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    def _drop_idle(self) -> None:
        """Close the idle connections: after one broke mid-request they may lead into a worker that
        is still dying (its sockets not yet closed), so the next request connects afresh, and a
        refused connection sends it to another worker or answers that none is live."""
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        address, errors = self.address, []
        targets: list[tuple[str, int] | str] = [address.unix_path] if address.unix_path else []
        if address.tcp_address:
            targets.append(split_address(address.tcp_address))
        for target in targets:
            try:
                async with asyncio.timeout(CONNECT_SECONDS):
                    if isinstance(target, str):
                        streams = await asyncio.open_unix_connection(target, limit=STREAM_LIMIT)
                    else:
                        streams = await asyncio.open_connection(*target, limit=STREAM_LIMIT)
                return _Connection(*streams)
            except (OSError, TimeoutError) as exc:
                errors.append(
                    f"{target}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc!r}"
                )
        raise Unreachable("; ".join(errors) or "it gave no address this machine can reach")

    def _lost(self, exc: BaseException) -> str:
        why = self._gone or f"the connection broke ({type(exc).__name__})"
        return (
            f"the worker running this invocation ({self.id[:8]} at {self.address}) stopped before answering: "
            f"{why}; the function may have run"
        )

    def abandon(self, reason: str) -> None:
        """The worker is dead or hangs: fail the requests waiting on it (with ``reason``), close all."""
        self._gone = reason
        for connection in [*self._busy, *self._idle]:
            connection.close()
        self._idle.clear()

    def retire(self) -> None:
        """The worker stopped cleanly (left the registry): no new requests; those in flight finish."""
        self._gone = "it stopped"
        for connection in self._idle:
            connection.close()
        self._idle.clear()
