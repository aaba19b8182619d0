"""The live workers, as this API process knows them: read from the registry every
``REFRESH_SECONDS`` (never on an invocation's path), and which one each invocation goes to.

Choice: workers on this machine first (a Unix socket, no TCP stack), and among equals the same
worker for the same function (rendezvous hashing on its name), so a function stays warm in one pool
instead of cold-starting in each; a function's invocations spread only when that worker is gone.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError

from api.runtime.peers import Address, Peer
from foundation.registry import workers as registry
from foundation.registry.database import SessionMaker
from workers.endpoint.presence import STALE_SECONDS
from workers.endpoint.wire import host_id

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
UNREACHABLE_SECONDS = 5.0
"""How long a worker that refused a connection is passed over (unless it is the only one left)."""


class WorkerDirectory:
    def __init__(self, sessions: SessionMaker, stale_seconds: float = STALE_SECONDS) -> None:
        self._sessions = sessions
        self._stale_seconds = stale_seconds
        self._peers: dict[str, Peer] = {}
        self._ordered: list[Peer] = []
        """Local workers first."""
        self._host = host_id()
        self._refreshing: asyncio.Task[None] | None = None

    @property
    def stale_seconds(self) -> float:
        return self._stale_seconds

    def candidates(self, affinity: str) -> list[Peer]:
        """The workers to try for a function, best first (those that refused a connection lately last)."""
        peers = self._ordered
        if len(peers) > 1:
            peers = sorted(
                peers, key=lambda p: (not p.address.unix_path, -zlib.crc32(f"{p.id}/{affinity}".encode()))
            )
            now = asyncio.get_running_loop().time()
            peers.sort(key=lambda p: p.unreachable_until > now)  # stable: keeps the order within each group
        return peers

    async def refresh(self) -> None:
        """Read the registry now (one refresh at a time; callers arriving meanwhile share it)."""
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._refresh())
        await asyncio.shield(self._refreshing)

    async def _refresh(self) -> None:
        async with self._sessions() as session:
            rows = await registry.listed(session, self._stale_seconds)
        seen: dict[str, Peer] = {}
        for row, fresh in rows:
            peer = self._peers.get(row.id)
            if not fresh:
                if peer is not None:
                    peer.abandon(f"no heartbeat for {self._stale_seconds:.0f} s")
                continue
            if peer is None:
                local = row.host == self._host and row.unix_path is not None
                peer = Peer(Address(row.id, row.unix_path if local else None, row.tcp_address))
            seen[row.id] = peer
        listed = {row.id for row, _ in rows}
        for worker_id, peer in self._peers.items():
            if worker_id not in listed:
                peer.retire()
        self._peers = seen
        self._ordered = sorted(seen.values(), key=lambda p: p.address.unix_path is None)

    def passed_over(self, peer: Peer) -> None:
        """``peer`` refused a connection: try the others first for a while."""
        peer.unreachable_until = asyncio.get_running_loop().time() + UNREACHABLE_SECONDS

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except (OSError, DBAPIError) as exc:  # the known workers keep serving meanwhile
                log.warning("cannot read the live workers from the registry: %s", exc)

    def close(self) -> None:
        for peer in self._peers.values():
            peer.abandon("the API is stopping")
        self._peers, self._ordered = {}, []


@asynccontextmanager
async def watching(sessions: SessionMaker) -> AsyncIterator[WorkerDirectory]:
    """A directory kept fresh until the block ends."""
    directory = WorkerDirectory(sessions)
    await directory.refresh()
    keeping = asyncio.create_task(directory._keep_fresh(), name="stepline-worker-directory")
    try:
        yield directory
    finally:
        keeping.cancel()
        await asyncio.gather(keeping, return_exceptions=True)
        directory.close()
