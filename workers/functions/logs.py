"""Invocation logs: Lambda's START/END/REPORT lines around the function's own output.

Lines are buffered in memory and written to PostgreSQL in batches by a background task, so an
invocation never waits for the database; ``flush`` makes everything logged so far readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from datetime import UTC, datetime

from stepline.registry.database import SessionMaker, unit_of_work
from stepline.registry.functions import add_log_lines

log = logging.getLogger(__name__)
Row = tuple[str, str, datetime, str]


def billed_ms(duration_ms: float) -> int:
    """Lambda bills every started millisecond."""
    return max(1, math.ceil(duration_ms))


def invocation_lines(
    request_id: str, version: str, output: list[str], *, duration_ms: float, memory_mb: int,
    max_memory_mb: int, init_duration_ms: float | None,
) -> list[str]:  # fmt: skip
    """The log of one invocation, as Lambda writes it."""
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed_ms(duration_ms)} ms\tMemory Size: {memory_mb} MB\t"
        f"Max Memory Used: {max_memory_mb} MB"
    )
    if init_duration_ms is not None:
        report += f"\tInit Duration: {init_duration_ms:.2f} ms"
    return [
        f"START RequestId: {request_id} Version: {version}",
        *output,
        f"END RequestId: {request_id}",
        report,
    ]


class LogBook:
    """Buffered log rows, written by one background task."""

    def __init__(
        self, sessions: SessionMaker | None, interval: float = 0.25, max_buffer: int = 100_000
    ) -> None:
        self._sessions = sessions
        self._interval = interval
        self._max_buffer = max_buffer
        self._rows: list[Row] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def add(self, function: str, request_id: str, lines: list[str], started: datetime | None = None) -> None:
        """Keep an invocation's lines: the first (START) at ``started``, the others at the end."""
        now = datetime.now(UTC)
        if len(self._rows) + len(lines) > self._max_buffer:
            return  # the database is not keeping up: drop rather than grow without bound
        self._rows.extend((function, request_id, now, line) for line in lines)
        if started is not None and lines:
            self._rows[-len(lines)] = (function, request_id, started, lines[0])

    def start(self) -> None:
        if self._sessions is not None:
            self._task = asyncio.create_task(self._run(), name="stepline-function-logs")

    async def flush(self) -> None:
        if self._sessions is None:
            self._rows.clear()
            return
        async with self._lock:
            rows, self._rows = self._rows, []
            if not rows:
                return
            try:
                async with unit_of_work(self._sessions) as session:
                    await add_log_lines(session, rows)
            except BaseException:
                self._rows[:0] = rows
                raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError):
            await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except OSError as exc:  # database unreachable: keep the rows for the next attempt
                log.warning("function logs not written yet: %s", exc)
