"""When to look for queued Event invocations: at once when one is queued anywhere, else now and then.

``enqueue_event`` notifies a PostgreSQL channel when its transaction commits; ``EventWakeups`` listens
on a connection of its own, so a queued invocation starts within milliseconds, not at the next poll.
Notifications do not cover everything (retries coming due, leases of a crashed runtime expiring, a
notification sent while the listening connection was down), so a slow poll remains; while the
connection is down the poll is fast, as it was before notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from foundation.pg_connections import close_or_terminate
from foundation.registry.functions import EVENTS_CHANNEL

log = logging.getLogger(__name__)


class EventWakeups:
    """``await wakeups.wait()`` returns when an Event invocation may be due (see the module doc)."""

    def __init__(
        self,
        database_url: str,
        *,
        poll_seconds: float = 2.0,
        unconnected_poll_seconds: float = 0.2,
        reconnect_seconds: float = 1.0,
        channel: str = EVENTS_CHANNEL,
    ) -> None:
        """``channel``: the notification channel to listen on (the Event invocations' by default)."""
        self._channel = channel
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._poll_seconds = poll_seconds
        self._unconnected_poll_seconds = unconnected_poll_seconds
        self._reconnect_seconds = reconnect_seconds
        self._notified = asyncio.Event()
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    @property
    def listening(self) -> bool:
        """Whether notifications currently arrive (the poll is slow then)."""
        return self._listening

    async def __aenter__(self) -> EventWakeups:
        self._task = asyncio.create_task(self._listen(), name="stepline-event-wakeups")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake_in(self, seconds: float) -> None:
        """Wake the waiter after ``seconds`` (an attempt this process queued for later comes due)."""
        asyncio.get_running_loop().call_later(seconds, self._notified.set)

    async def wait(self) -> None:
        """Until a notification arrives or the poll interval passes.

        Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives as the
        notification does, and the runtime's event loop then never stops (a hung shutdown).
        """
        timeout = self._poll_seconds if self._listening else self._unconnected_poll_seconds
        notified = asyncio.ensure_future(self._notified.wait())
        try:
            await asyncio.wait({notified}, timeout=timeout)
        finally:
            notified.cancel()
        self._notified.clear()

    async def _listen(self) -> None:
        """Keep a listening connection; reconnect after a failure."""
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for queued invocations (polling instead): %s", exc)
            else:
                await self._listen_on(connection)
            await asyncio.sleep(self._reconnect_seconds)

    async def _listen_on(self, connection: Any) -> None:
        """Listen until the connection is lost (then close it)."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        try:
            await connection.add_listener(self._channel, self._on_notification)
            self._listening = True
            self._notified.set()  # anything queued while not listening is looked for at once
            await lost.wait()
            log.warning("lost the connection listening for queued invocations; reconnecting")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for queued invocations (polling instead): %s", exc)
        finally:
            self._listening = False
            await close_or_terminate(connection, 2)

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._notified.set()
