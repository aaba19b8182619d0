"""A fixed-size pool of server connections with a fair borrow queue.

Borrowers wait in FIFO order up to the borrow timeout; a returned connection goes straight to the
longest waiter. Connections come back clean: one still inside a transaction, broken, or holding
unread bytes is closed; one whose session state may have changed is reset with ``DISCARD ALL``
(which also drops its prepared statements, so their record is cleared too).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass

from workers.dbproxy import pgwire
from workers.dbproxy.server import ServerConnection, ServerError, Target, connect


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """One proxy's pool. ``target`` holds the password: never log it whole."""

    name: str
    target: Target
    size: int = 10
    borrow_timeout: float = 5.0
    idle_timeout: float = 300.0
    connect_timeout: float = 5.0

    @property
    def application_name(self) -> str:
        return f"stepline-dbproxy/{self.name}"


class BorrowTimeout(ServerError):
    """No server connection became free within the borrow timeout."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    size: int
    open: int
    idle: int
    waiting: int


class Pool:
    """Server connections for one proxy: at most ``size`` open at any moment."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._idle: list[ServerConnection] = []
        self._waiters: deque[asyncio.Future[ServerConnection | None]] = deque()
        self._open = 0
        self._closed = False

    def stats(self) -> PoolStats:
        return PoolStats(self.config.size, self._open, len(self._idle), len(self._waiters))

    async def acquire(self) -> ServerConnection:
        """A clean connection; waits up to the borrow timeout, raises ``ServerError`` otherwise."""
        deadline = time.monotonic() + self.config.borrow_timeout
        while True:
            if self._closed:
                raise ServerError("57P01", f"db proxy {self.config.name!r} is shutting down")
            while self._idle:
                conn = self._idle.pop()
                if conn.alive:
                    return conn
                self._discard(conn)
            if self._open < self.config.size:
                return await self._open_one()
            waiter: asyncio.Future[ServerConnection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    conn_or_slot = await waiter
            except TimeoutError:
                if waiter.done() and not waiter.cancelled():
                    conn_or_slot = waiter.result()  # handed over just as the timeout fired
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                    raise BorrowTimeout(
                        "53300",
                        f"db proxy {self.config.name!r}: no connection free within "
                        f"{self.config.borrow_timeout} s (pool size {self.config.size})",
                    ) from None
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    handed = waiter.result()
                    if handed is not None:
                        await self.release(handed)
                    else:
                        self._wake_slot()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                raise
            if conn_or_slot is not None:
                return conn_or_slot
            # A slot was freed for us: loop and open a connection in it.

    async def _open_one(self) -> ServerConnection:
        self._open += 1
        try:
            return await connect(
                self.config.target, self.config.application_name, self.config.connect_timeout
            )
        except BaseException:
            self._open -= 1
            self._wake_slot()
            raise

    async def release(self, conn: ServerConnection) -> None:
        """Give a connection back: reset it if needed, else close it."""
        if conn.alive and conn.status == b"I" and conn.dirty:
            await self._reset(conn)
        if self._closed or not conn.alive or conn.status != b"I":
            self._discard(conn)
            return
        conn.idle_since = time.monotonic()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def discard(self, conn: ServerConnection) -> None:
        """Close a connection that cannot be reused (broken, or abandoned mid-query)."""
        self._discard(conn)

    def _discard(self, conn: ServerConnection) -> None:
        conn.close()
        if conn.counted:
            conn.counted = False
            self._open -= 1
            self._wake_slot()

    def _wake_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _reset(self, conn: ServerConnection) -> None:
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                conn.stream.write(pgwire.query("DISCARD ALL"))
                while True:
                    kind, payload = await conn.stream.read()
                    if kind == b"Z":
                        conn.status = payload[:1]
                        break
            conn.prepared.clear()
            conn.dirty = False
        except (TimeoutError, pgwire.StreamClosed):
            conn.stream.close()

    def close_idle(self, older_than: float | None = None) -> int:
        """Close idle connections unused for ``older_than`` seconds (all if None); how many closed."""
        now = time.monotonic()
        keep: list[ServerConnection] = []
        closed = 0
        for conn in self._idle:
            if older_than is None or now - conn.idle_since >= older_than or not conn.alive:
                closed += 1
                self._discard(conn)
            else:
                keep.append(conn)
        self._idle = keep
        return closed

    async def close(self) -> None:
        self._closed = True
        self.close_idle()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
