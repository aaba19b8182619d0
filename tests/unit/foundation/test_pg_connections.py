"""A direct connection is never left open: closed politely, else terminated (cancelled, slow, failing)."""

from __future__ import annotations

import asyncio

import pytest

from foundation.pg_connections import close_or_terminate


class StandIn:
    """What ``close_or_terminate`` uses of an asyncpg connection; ``close`` as slow as told."""

    def __init__(self, close_seconds: float = 0.0, fails: bool = False) -> None:
        self.close_seconds = close_seconds
        self.fails = fails
        self.closed = False
        self.terminated = False

    async def close(self) -> None:
        await asyncio.sleep(self.close_seconds)
        if self.fails:
            raise OSError("connection reset")
        self.closed = True

    def is_closed(self) -> bool:
        return self.closed or self.terminated

    def terminate(self) -> None:
        self.terminated = True


async def test_a_polite_close_is_enough() -> None:
    connection = StandIn()
    await close_or_terminate(connection)
    assert connection.closed and not connection.terminated


@pytest.mark.parametrize("connection", [StandIn(close_seconds=60), StandIn(fails=True)])
async def test_a_slow_or_failing_close_terminates(connection: StandIn) -> None:
    await close_or_terminate(connection, 0.05)
    assert connection.terminated


async def test_a_close_cancelled_midway_terminates() -> None:
    connection = StandIn(close_seconds=60)
    closing = asyncio.create_task(close_or_terminate(connection))
    await asyncio.sleep(0.01)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert connection.terminated
