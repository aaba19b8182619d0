"""Live streams for the console as Server-Sent Events: an execution's history as it is recorded, a
function's log lines as they are stored.

Nothing polls. A stream subscribes to its execution's notices (``foundation.registry.notices``: the
worker hosting the workflow announces new events, a trigger announces the row leaving RUNNING), and
on each notice reads what is new: from the workflow (``history`` query) while the execution runs,
from PostgreSQL once it has ended. Between notices it sends a keep-alive comment every
``KEEPALIVE_SECONDS`` and re-checks once (a notice lost while the listener reconnected).

Bounded per connection: one page of events in memory at a time, one ``asyncio.Event`` for notices,
at most ``MAX_STREAM_SECONDS`` long; at most ``MAX_STREAMS`` streams per process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from api.services.history import served_event
from api.services.shared_history import SharedHistory
from api.state import AppState
from foundation.errors import InvalidRequest, Unavailable
from foundation.registry import executions as registry
from foundation.registry.database import unit_of_work
from foundation.registry.executions import RUNNING, Execution
from foundation.registry.function_metrics import log_lines_after
from foundation.registry.functions import get_function
from foundation.registry.notices import FUNCTION_LOGS_CHANNEL, HISTORY_CHANNEL

KEEPALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 3600.0
"""A stream ends after an hour; the client resumes with ``Last-Event-ID``."""
MAX_STREAMS = 256
"""Open streams per API process; one more is refused with 503 until one closes."""
PAGE_EVENTS = 100
"""Events (or log lines) read at once: a page of events of 256 KiB payloads stays within 25 MiB."""
MAX_EVENT_ID = 2**63 - 1
"""Cursors are PostgreSQL bigints (log lines) or history event ids."""
SETTLE_SECONDS = 0.02
"""After a notice, a stream reads at most this often: a burst of notices becomes one read."""

_open = [0]
SHARED = SharedHistory(PAGE_EVENTS)
"""The workflow queries of this process's streams, one per execution and cursor at a time."""


def sse(data: Any, event: str, event_id: int | str | None = None) -> bytes:
    """One Server-Sent Event: ``data`` as one line of compact JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + _json(data) + b"\n\n"


KEEPALIVE = b": keep-alive\n\n"
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
"""No cache may keep a stream, no proxy may buffer one."""


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def resume_point(last_event_id: str | None, after: int | None) -> int:
    """The id after which to start: ``Last-Event-ID`` (a reconnect) wins over ``?after=``."""
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            raise InvalidRequest(
                "Last-Event-ID must be an event id (an integer)", [{"location": "header:/Last-Event-ID"}]
            ) from None
        if value > MAX_EVENT_ID:
            raise InvalidRequest(
                f"Last-Event-ID must be at most {MAX_EVENT_ID}", [{"location": "header:/Last-Event-ID"}]
            )
        if value < 0:
            raise InvalidRequest(
                "Last-Event-ID must not be negative", [{"location": "header:/Last-Event-ID"}]
            )
        return value
    return after or 0


def check_capacity() -> None:
    """Unavailable (503) when the process serves ``MAX_STREAMS`` streams already (checked before a
    stream's headers go out; the count itself moves inside the stream, where its end is certain)."""
    if _open[0] >= MAX_STREAMS:
        raise Unavailable(f"this API process already serves {MAX_STREAMS} live streams; retry later")


async def open_execution_events(state: AppState, execution_id: str, after: int) -> AsyncIterator[bytes]:
    """The events stream of an execution; ExecutionNotFound (404) before any byte when there is none."""
    check_capacity()
    async with unit_of_work(state.sessions) as session:
        await registry.get_execution(session, execution_id)
    return execution_events(state, execution_id, after)


async def execution_events(state: AppState, execution_id: str, after: int) -> AsyncIterator[bytes]:
    """The stream's body (see the module docstring). The caller checked the execution exists."""
    _open[0] += 1
    try:
        deadline = time.monotonic() + MAX_STREAM_SECONDS
        async with state.notices.subscribe(HISTORY_CHANNEL, execution_id) as notices:
            reader = _HistoryReader(state, execution_id, after)
            woke = asyncio.get_running_loop().time()
            while True:
                while events := await reader.next_page(woke):  # a page in one write, not one per event
                    yield b"".join(sse(served_event(event), "history", event["id"]) for event in events)
                if reader.ended is not None:
                    yield sse(_status(reader.ended), "status")
                    return
                if time.monotonic() > deadline:
                    return
                if not await notices.wait(KEEPALIVE_SECONDS):
                    yield KEEPALIVE
                    reader.recheck()  # a notice lost while the listener reconnected
                woke = asyncio.get_running_loop().time()
                await notices.wait(SETTLE_SECONDS)  # let a burst land: one read for many events
    finally:
        _open[0] -= 1


ENDING_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


class _HistoryReader:
    """Reads an execution's events after a cursor: from the workflow while it runs (no database
    read per notice), from PostgreSQL once its row has ended. The row is read at the start, when the
    workflow is gone, after the history's last event, and on a keep-alive's re-check."""

    def __init__(self, state: AppState, execution_id: str, after: int) -> None:
        self._state = state
        self._execution_id = execution_id
        self._after = after
        self._check_row = True
        self._ending_seen = False
        """The history's last event was read: the row is read on every wake until it has ended."""
        self.ended: Execution | None = None
        """The row once it has left RUNNING (the stream then sends its status and ends)."""

    def recheck(self) -> None:
        self._check_row = True

    async def next_page(self, woke: float) -> list[dict[str, Any]]:
        """Up to a page of events after the cursor (empty: nothing new yet, or the end), read from
        the workflow no earlier than loop time ``woke`` (shared with the execution's other streams)."""
        if self._check_row and self.ended is None:
            async with unit_of_work(self._state.sessions) as session:
                row = await registry.get_execution(session, self._execution_id)
            self._check_row = self._ending_seen
            if row.status != RUNNING:
                self.ended = row
        if self.ended is not None:
            async with unit_of_work(self._state.sessions) as session:
                events = await registry.history_page(
                    session, self._execution_id, PAGE_EVENTS, self._after, False
                )
        else:
            page = await SHARED.page(self._state, self._execution_id, self._after, woke)
            if page is None:  # no workflow (yet, or any more): the row says which once it has ended
                self._check_row = True
                return []
            events = page.events
            if any(e["type"] in ENDING_EVENTS for e in events):
                self._ending_seen = self._check_row = True  # the row follows; its trigger's notice wakes us
        if events:
            self._after = events[-1]["id"]
        return events


def _status(row: Execution) -> dict[str, Any]:
    return {
        "executionId": row.id,
        "status": row.status,
        "stopDate": row.stop_date.isoformat() if row.stop_date else None,
        "error": row.error,
        "cause": row.cause,
    }


LOG_BACKLOG = timedelta(minutes=1)
"""Without a cursor or ``since``, a log stream starts with the last minute's lines."""


async def open_function_logs(
    state: AppState, name: str, after: int, since: datetime | None
) -> AsyncIterator[bytes]:
    """The log stream of a function; FunctionNotFound (404) before any byte when there is none."""
    check_capacity()
    async with unit_of_work(state.sessions) as session:
        await get_function(session, name)
    if since is None:
        since = datetime.now(UTC) - LOG_BACKLOG if after == 0 else datetime.min.replace(tzinfo=UTC)
    elif since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return function_logs(state, name, after, since)


async def function_logs(state: AppState, name: str, after: int, since: datetime) -> AsyncIterator[bytes]:
    """Each stored line after cursor ``after`` (none before ``since``), then new ones as they are
    stored, until the client leaves or ``MAX_STREAM_SECONDS`` pass."""
    _open[0] += 1
    try:
        deadline = time.monotonic() + MAX_STREAM_SECONDS
        async with state.notices.subscribe(FUNCTION_LOGS_CHANNEL, name) as notices:
            while time.monotonic() < deadline:
                while True:
                    async with unit_of_work(state.sessions) as session:
                        lines = await log_lines_after(session, name, after, since, PAGE_EVENTS)
                    for line in lines:
                        data = {"timestamp": line.timestamp.isoformat(), "requestId": line.request_id,
                                "message": line.message}  # fmt: skip
                        yield sse(data, "log", line.id)
                        after = line.id
                    if len(lines) < PAGE_EVENTS:
                        break
                if not await notices.wait(KEEPALIVE_SECONDS):
                    yield KEEPALIVE
    finally:
        _open[0] -= 1
