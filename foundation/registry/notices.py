"""PostgreSQL notification channels that tell listeners something changed: sending, and listening.

A notice is a hint, never data: its payload is a key (an execution id, a function name) and the
listener reads what changed through the ordinary queries. Notices sent inside a transaction are
delivered when it commits; one lost (a listener reconnecting) is covered by the listeners' slow
re-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.pg_connections import close_or_terminate

HISTORY_CHANNEL = "stepline_history"
"""Payload: an execution id. Sent when a running execution recorded events (by the worker hosting its
workflow, ``workers.history_notices``) and when its row leaves RUNNING (trigger, migration 0010)."""
FUNCTION_LOGS_CHANNEL = "stepline_function_logs"
"""Payload: a function name. Sent when log lines of the function were stored (trigger, migration 0010)."""

ACTIVITY_TASK_CHANNEL = "stepline_activity_task"
"""Payload: an activity name. Sent when a task for its workers was queued (``registry.activities``)."""

CHANNELS = (HISTORY_CHANNEL, FUNCTION_LOGS_CHANNEL, ACTIVITY_TASK_CHANNEL)
UNCONNECTED_WAIT = 1.0
"""Seconds a wait lasts at most while the listening connection is down."""
RECONNECT_SECONDS = 1.0
MAX_KEY_BYTES = 7000
"""PostgreSQL refuses payloads of 8,000 bytes or more; keys are far shorter (ids are <= 200)."""

log = logging.getLogger(__name__)

_NOTIFY_MANY = text("SELECT pg_notify(:channel, key) FROM unnest(CAST(:keys AS text[])) AS key")


async def notify(session: AsyncSession, channel: str, keys: Iterable[str]) -> None:
    """Send one notice per key on ``channel`` (one statement); keys too long for a payload are skipped."""
    fitting = [key for key in keys if len(key.encode()) <= MAX_KEY_BYTES]
    if fitting:
        await session.exec(_NOTIFY_MANY.bindparams(channel=channel, keys=fitting))  # type: ignore[call-overload]


# Listening ---------------------------------------------------------------------------------------
#
# One listening connection per process, fanned out to the waiters: a live stream subscribes to a
# (channel, key) pair and ``wait``s; a notice wakes every subscriber of its key. The connection opens
# with the first subscriber (a process nobody watches holds none) and reconnects after a failure;
# while it is down, waits last at most ``UNCONNECTED_WAIT`` so that streams re-check by themselves.
# Memory per subscriber: one ``asyncio.Event`` (notices coalesce, nothing queues).


class Subscription:
    """Notices of one key, coalesced: ``wait`` returns True once one arrived since the last wait."""

    def __init__(self, listener: NoticeListener) -> None:
        self._listener = listener
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Until a notice (True) or ``seconds`` pass (False; at most a second while not listening)."""
        if not self._listener.listening:
            seconds = min(seconds, UNCONNECTED_WAIT)
        waiting = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({waiting}, timeout=seconds)
        finally:
            waiting.cancel()
        notified = self._event.is_set()
        self._event.clear()
        return notified


class NoticeListener:
    """See the module docstring."""

    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._subscribers: dict[tuple[str, str], set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._connected.is_set()

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, key: str, ready_within: float = 2.0
    ) -> AsyncIterator[Subscription]:
        """Subscribe to ``key`` on ``channel`` for the block; waits up to ``ready_within`` s for the
        connection to listen, so that nothing recorded after this returns goes unnoticed."""
        subscription = Subscription(self)
        subscribers = self._subscribers.setdefault((channel, key), set())
        subscribers.add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="stepline-console-notices")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), ready_within)
            yield subscription
        finally:
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop((channel, key), None)
            if not self._subscribers:
                await self.close()  # nobody listens: no connection held

    async def close(self) -> None:
        """Stop listening (the next subscriber listens again)."""
        task, self._task = self._task, None
        self._connected.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for console notices (streams re-check each second): %s", exc)
            else:
                await self._listen_on(connection)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_on(self, connection: Any) -> None:
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        try:
            for channel in CHANNELS:
                await connection.add_listener(channel, self._on_notice)
            self._connected.set()
            self._wake_all()  # what happened while not listening is looked for at once
            await lost.wait()
            log.warning("lost the connection listening for console notices; reconnecting")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cannot listen for console notices: %s", exc)
        finally:
            if self._task is None or self._task is asyncio.current_task():  # not a successor's flag
                self._connected.clear()
            await close_or_terminate(connection, 2)

    def _on_notice(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        for subscription in self._subscribers.get((channel, payload), ()):
            subscription.wake()

    def _wake_all(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.wake()
