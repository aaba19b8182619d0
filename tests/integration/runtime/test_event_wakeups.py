"""Queued Event invocations wake the runtime through PostgreSQL notifications, across a lost
connection too (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import time

import pytest

from foundation.registry import functions as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from workers.functions.event_wakeups import EventWakeups

pytestmark = pytest.mark.integration

POLL = 60.0
"""So long that only a notification can end a wait within the test's timeouts."""


async def until_listening(wakeups: EventWakeups) -> None:
    deadline = time.monotonic() + 10
    while not wakeups.listening:
        assert time.monotonic() < deadline, "never started listening"
        await asyncio.sleep(0.02)
    await asyncio.wait_for(wakeups.wait(), 1)  # the wake-up every (re)connection gives


async def test_a_queued_event_wakes_the_waiter_also_after_the_connection_is_lost(database_url: str) -> None:
    import asyncpg

    engine = create_engine(database_url, 2)
    sessions = session_maker(engine)

    async def enqueue() -> None:
        async with unit_of_work(sessions) as session:
            await registry.enqueue_event(session, "no-such-function", None, "{}")

    try:
        async with EventWakeups(database_url, poll_seconds=POLL, reconnect_seconds=0.1) as wakeups:
            await until_listening(wakeups)
            waiting = asyncio.create_task(wakeups.wait())
            await asyncio.sleep(0.2)
            assert not waiting.done()  # nothing queued, nothing to wake for
            await enqueue()
            await asyncio.wait_for(waiting, 5)

            admin = await asyncpg.connect(database_url.replace("+asyncpg", ""))
            try:
                killed = await admin.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database()"
                )
            finally:
                await admin.close()
            assert killed == 1
            deadline = time.monotonic() + 10
            while wakeups.listening:
                assert time.monotonic() < deadline, "the lost connection went unnoticed"
                await asyncio.sleep(0.02)
            await until_listening(wakeups)
            await enqueue()
            await asyncio.wait_for(wakeups.wait(), 5)
    finally:
        await engine.dispose()
