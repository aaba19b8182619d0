"""A fixed-size pool of server connections with a fair borrow queue.

Borrowers wait in FIFO order up to the borrow timeout; a returned connection goes straight to the
longest waiter. ``size`` caps the proxy's connections across every process (``slots``): a new
connection stays only if it wins a slot, else the pool backs off and tries again until the borrow
timeout. Connections are opened one at a time, so the database sees at most one connection per
process beyond ``size``, and that one only while it learns that there is no slot.

Connections come back clean: one still inside a transaction, broken, or holding unread bytes is
closed; one whose session state may have changed is reset with DISCARD ALL's list minus the slot
(which also drops its prepared statements, so their record is cleared too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from workers.dbproxy import pgwire, slots
from workers.dbproxy.server import ServerConnection, ServerError, Target, connect

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """One proxy's pool. ``target`` holds the password: never log it whole."""

    name: str
    target: Target
    size: int = 10
    borrow_timeout: float = 5.0
    idle_timeout: float = 300.0
    connect_timeout: float = 5.0
    slot_secret: bytes = field(default_factory=slots.process_secret, repr=False)
    """Keys the slot locks (``slots.SlotKeys``): the deployment's, shared by every process
    (``Sealer.derive``); the default, random per process, caps the pool in this process only."""

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
    busy: int = 0
    borrows: int = 0
    borrow_timeouts: int = 0
    queries: int = 0
    slot_refusals: int = 0
    """Connections opened and closed again because every cluster-wide slot was taken."""
    slot_yields: int = 0
    """Connections given back because another process asked for a slot."""


MAX_BACKOFF = 0.1
"""Longest pause between attempts to win a slot while every slot is taken (seconds)."""
YIELD_HOLDOFF = 0.25
"""After giving a slot back, this process opens no connection for so long, so the asker gets it."""


class Pool:
    """Server connections for one proxy: at most ``size`` open at any moment, cluster-wide."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self.keys = slots.SlotKeys(config.slot_secret, config.name)
        self._idle: list[ServerConnection] = []
        self._waiters: deque[asyncio.Future[ServerConnection | None]] = deque()
        self._open = 0
        self._opening = 0
        self._closed = False
        self._backoff = 0.0
        self._holdoff_until = 0.0
        self._retry: asyncio.TimerHandle | None = None
        self._generation = 0
        self._listen = True
        self._signals: dict[bytes, None] = {}
        """Give-back signals already answered (each one frees one slot), oldest first."""
        """LISTEN for give-a-slot-back signals (off if the server refuses it, e.g. a hot standby)."""
        self._counts = {
            "borrows": 0,
            "borrow_timeouts": 0,
            "queries": 0,
            "slot_refusals": 0,
            "slot_yields": 0,
        }

    def stats(self) -> PoolStats:
        return PoolStats(
            self.config.size,
            self._open,
            len(self._idle),
            len(self._waiters),
            busy=self._open - len(self._idle) - self._opening,
            **self._counts,
        )

    async def acquire(self) -> ServerConnection:
        """A clean connection; waits up to the borrow timeout, raises ``ServerError`` otherwise."""
        deadline = time.monotonic() + self.config.borrow_timeout
        waiter: asyncio.Future[ServerConnection | None] | None = None
        woken = False
        """Woken to try opening: if it cannot, it waits again at the head of the queue."""
        try:
            while True:
                if self._closed:
                    raise ServerError("57P01", f"db proxy {self.config.name!r} is shutting down")
                if waiter is not None and waiter.done():
                    handed, waiter, woken = waiter.result(), None, True
                    if handed is not None:
                        return self._borrowed(handed)
                if waiter is None and (conn := self._take_idle()) is not None:
                    return self._borrowed(conn)
                if self._may_open():
                    conn = await self._open_one()
                    if conn is not None:
                        if waiter is not None:
                            self._forget(waiter)
                            waiter = None
                        if self._open < self.config.size:
                            self._wake_slot()  # the next waiter takes over trying
                        return self._borrowed(conn)
                    continue
                now = time.monotonic()
                if now >= deadline:
                    raise self._timed_out()
                if waiter is None:
                    waiter = asyncio.get_running_loop().create_future()
                    if woken:
                        self._waiters.appendleft(waiter)
                    else:
                        self._waiters.append(waiter)
                self._schedule_retry()
                await asyncio.wait({waiter}, timeout=deadline - now)
        except BaseException:
            if waiter is not None:
                self._forget(waiter)
            raise

    def reconfigure(self, config: PoolConfig) -> None:
        """Follow changed settings in place: clients stay connected; connections opened under the
        old settings close (idle ones now, lent ones when they come back), new ones use the new."""
        self.config = config
        self._generation += 1
        self.close_idle()
        if self._open < config.size:
            self._wake_slot()  # a larger pool: a waiter may open a connection now

    def count_query(self) -> None:
        """A client's query was relayed (for the metrics)."""
        self._counts["queries"] += 1

    def _schedule_retry(self) -> None:
        """Blocked by the backoff rather than by local use: wake a waiter when it ends."""
        blocked = self._open < self.config.size and not self._opening
        if self._retry is None and self._waiters and blocked:
            delay = max(0.001, self._holdoff_until - time.monotonic())
            self._retry = asyncio.get_running_loop().call_later(delay, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self._wake_slot()

    def _borrowed(self, conn: ServerConnection) -> ServerConnection:
        self._counts["borrows"] += 1
        return conn

    def _timed_out(self) -> BorrowTimeout:
        self._counts["borrow_timeouts"] += 1
        return BorrowTimeout(
            "53300",
            f"db proxy {self.config.name!r}: no connection free within "
            f"{self.config.borrow_timeout} s (pool size {self.config.size})",
        )

    def _forget(self, waiter: asyncio.Future[ServerConnection | None]) -> None:
        """A waiter that stops waiting: pass on whatever it was handed."""
        if not waiter.done():
            waiter.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        elif not waiter.cancelled():
            handed = waiter.result()
            if handed is not None:
                self._hand_over(handed)
            else:
                self._wake_slot()

    def _take_idle(self) -> ServerConnection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.alive and not conn.yield_requested:
                return conn
            self._give_back(conn)
        return None

    def _may_open(self) -> bool:
        if self._open >= self.config.size or time.monotonic() < self._holdoff_until:
            return False
        return not self._opening  # one at a time: at most one slot-less connection per process

    async def _open_one(self) -> ServerConnection | None:
        """A new connection holding a slot, or None when every slot is taken (after backing off)."""
        where = self.config.target.describe()
        self._open += 1
        self._opening += 1
        try:
            conn = await connect(
                self.config.target, self.config.application_name, self.config.connect_timeout
            )
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    claim = slots.claim_sql(self.keys, self.config.size, self._listen)
                    rows, error = await slots.run(conn, claim)
            except (TimeoutError, pgwire.StreamClosed):
                conn.close()
                raise ServerError("08006", f"database {where} did not grant a pool slot") from None
            if error is not None and not rows:  # the claim itself failed: say why, do not wait
                conn.close()
                message = error.get("M", "")
                raise ServerError(
                    error.get("C", "08006"), f"database {where}: cannot take a pool slot: {message}"
                )
        except BaseException:
            self._open -= 1
            self._wake_slot()
            raise
        finally:
            self._opening -= 1
        if error is not None:  # only LISTEN failed (a hot standby refuses it)
            log.info("db proxy %s: LISTEN refused (%s); slots are not given back on request",
                     self.config.name, error.get("M", ""))  # fmt: skip
            self._listen = False
        won = rows[-1][0] if rows else None
        if won is None:
            with contextlib.suppress(pgwire.StreamClosed):
                conn.stream.write(slots.notify_sql(self.keys, secrets.token_hex(8)))
            conn.counted = False
            conn.close()
            self._open -= 1
            self._counts["slot_refusals"] += 1
            self._backoff = min(MAX_BACKOFF, max(0.005, self._backoff * 2))
            self._holdoff_until = time.monotonic() + random.uniform(0.5, 1.0) * self._backoff
            return None
        conn.slot = int(won)
        conn.generation = self._generation
        conn.yield_requested = False  # our own claim's neighbours may have signalled; not for us
        self._backoff = 0.0
        return conn

    async def release(self, conn: ServerConnection) -> None:
        """Give a connection back: reset it if needed, else close it."""
        if conn.alive and conn.status == b"I" and conn.dirty:
            await self._reset(conn)
        stale = conn.generation != self._generation
        if self._closed or not conn.alive or conn.status != b"I" or conn.yield_requested or stale:
            self._give_back(conn)
            return
        conn.idle_since = time.monotonic()
        self._hand_over(conn)

    def _hand_over(self, conn: ServerConnection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _give_back(self, conn: ServerConnection) -> None:
        """Close a connection; if another process asked for a slot, leave it the slot for a while."""
        if conn.yield_requested or (conn.alive is False and not conn.stream.closed):
            self._counts["slot_yields"] += 1
            self._holdoff_until = max(self._holdoff_until, time.monotonic() + YIELD_HOLDOFF)
        self._discard(conn)

    def signal(self, conn: ServerConnection, payload: bytes) -> bool:
        """A NotificationResponse read on ``conn``: True if it is ours. Every connection of this
        process hears each signal; the first to hear it gives its slot back, the others ignore it."""
        token = slots.signal_token(payload, self.keys)
        if token is None:
            return False
        if token not in self._signals:
            self._signals[token] = None
            if len(self._signals) > 256:
                del self._signals[next(iter(self._signals))]
            conn.yield_requested = True
        return True

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
                rows, error = await slots.run(conn, slots.reset_sql(self.keys, conn.slot, self._listen))
            conn.prepared.clear()
            conn.dirty = False
            if (
                error is not None or not rows or rows[-1][1] != b"t"
            ):  # the slot went to someone else meanwhile
                conn.stream.close()
        except (TimeoutError, pgwire.StreamClosed):
            conn.stream.close()

    def close_idle(self, older_than: float | None = None) -> int:
        """Close idle connections unused for ``older_than`` seconds (all if None), or asked for by
        another process; how many closed."""
        now = time.monotonic()
        keep: list[ServerConnection] = []
        closed = 0
        for conn in self._idle:
            stale = older_than is None or now - conn.idle_since >= older_than
            if stale or not conn.alive or conn.yield_requested:
                closed += 1
                self._give_back(conn)
            else:
                keep.append(conn)
        self._idle = keep
        return closed

    async def close(self) -> None:
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        self.close_idle()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
