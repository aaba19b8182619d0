"""``EventWakeups.wait`` never swallows a cancellation (the runtime's event loop must stop)."""

from __future__ import annotations

import asyncio

import pytest

from workers.functions.event_wakeups import EventWakeups


async def test_a_cancellation_arriving_with_a_notification_still_cancels() -> None:
    """``asyncio.wait_for`` on Python 3.11 returns normally when its awaitable finishes as it is
    cancelled; the event loop then ran on and the runtime's shutdown waited for it forever."""
    wakeups = EventWakeups("postgresql+asyncpg://nobody@127.0.0.1:1/none", unconnected_poll_seconds=60)
    waiting = asyncio.create_task(wakeups.wait())
    await asyncio.sleep(0)  # waiting now
    wakeups._notified.set()  # the notification and the cancellation land in the same loop turn
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_wake_up_ends_the_wait_before_the_poll_interval() -> None:
    wakeups = EventWakeups("postgresql+asyncpg://nobody@127.0.0.1:1/none", unconnected_poll_seconds=60)
    wakeups.wake_in(0.01)
    await asyncio.wait_for(wakeups.wait(), 5)
