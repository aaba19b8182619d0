"""The worker's row in the registry: registered when its endpoint listens, refreshed every
``HEARTBEAT_SECONDS``, removed when it stops. API processes treat a row older than ``STALE_SECONDS``
as a dead (or stuck) worker."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError

from foundation.registry import workers as registry
from foundation.registry.database import SessionMaker, unit_of_work

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 10.0
"""Five missed heartbeats: a worker this silent is not handed invocations, and those in flight on
it fail (``api.runtime.remote``) instead of waiting for an answer that may never come."""


@dataclass(frozen=True)
class Presence:
    """Where this worker's endpoint listens."""

    worker_id: str
    host: str
    unix_path: str | None
    tcp_address: str | None


@asynccontextmanager
async def announced(sessions: SessionMaker, presence: Presence) -> AsyncIterator[None]:
    """Register ``presence`` and keep it live until the block ends."""
    await _register(sessions, presence)
    beating = asyncio.create_task(_beat(sessions, presence), name="stepline-worker-heartbeat")
    try:
        yield
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        try:
            async with unit_of_work(sessions) as session:
                await registry.unregister(session, presence.worker_id)
        except (OSError, DBAPIError) as exc:  # its heartbeat goes stale instead
            log.warning("could not remove this worker from the registry: %s", exc)


async def _register(sessions: SessionMaker, presence: Presence) -> None:
    async with unit_of_work(sessions) as session:
        await registry.register(
            session, presence.worker_id, presence.host, presence.unix_path, presence.tcp_address, os.getpid()
        )


async def _beat(sessions: SessionMaker, presence: Presence) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            async with unit_of_work(sessions) as session:
                alive = await registry.heartbeat(session, presence.worker_id)
            if not alive:  # removed meanwhile (e.g. as long gone after a long database outage)
                await _register(sessions, presence)
        except (OSError, DBAPIError) as exc:
            log.warning("worker heartbeat failed: %s", exc)
