"""Notices that a running execution recorded history events, for the API's live event streams.

The Step Functions history of a running execution lives in its workflow's memory (the ``history``
query reads it); PostgreSQL gets it only at the end. So the worker hosting the workflow says when
there is something new: ``TemporalHost.record`` calls ``HistoryNotices.recorded`` (not while
replaying), and one background task on the worker's event loop sends the pending execution ids as
``pg_notify`` on ``HISTORY_CHANNEL``, one statement per batch. The API listens on that channel and
queries the workflow for the events after the last one it sent: no client polls anything.

Cost on the workflow's path: a set insert under a lock per event; the notices leave off the workflow
thread, coalesced: one statement per 20 ms at most, for every execution that recorded meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from foundation.registry.database import SessionMaker
from foundation.registry.notices import HISTORY_CHANNEL, notify

log = logging.getLogger(__name__)

_BY_TASK_QUEUE: dict[str, HistoryNotices] = {}
GATHER_SECONDS = 0.02
"""How long a batch gathers before it is sent: at most 50 statements a second, however busy the
worker, for at most 20 ms more delay to a watcher."""


class HistoryNotices:
    """Coalesces ``recorded`` calls (from any thread) into ``pg_notify`` batches on ``loop``."""

    def __init__(self, sessions: SessionMaker, loop: asyncio.AbstractEventLoop) -> None:
        self._sessions = sessions
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def recorded(self, execution_id: str) -> None:
        """Execution ``execution_id`` recorded an event (called by workflow code, any thread)."""
        with self._lock:
            first = not self._pending
            self._pending.add(execution_id)
        if first and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._start)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._send(), name="stepline-history-notices")

    async def _send(self) -> None:
        """Send what is pending until nothing is, at most one statement per ``GATHER_SECONDS`` (the
        executions recording meanwhile join the batch); a failure drops that batch (notices are hints)."""
        while True:
            await asyncio.sleep(GATHER_SECONDS)
            with self._lock:
                batch, self._pending = self._pending, set()
            if not batch:
                return
            try:
                async with self._sessions() as session:
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                    await notify(session, HISTORY_CHANNEL, sorted(batch))
            except Exception as exc:  # a database hiccup must not stop the worker
                log.warning("could not send history notices: %s", exc)


def register(task_queue: str, notices: HistoryNotices) -> None:
    """Workflows on ``task_queue`` in this process send their notices through ``notices``."""
    _BY_TASK_QUEUE[task_queue] = notices


def for_task_queue(task_queue: str) -> HistoryNotices | None:
    """The notices of this process's worker on ``task_queue`` (None: nobody listens here)."""
    return _BY_TASK_QUEUE.get(task_queue)
