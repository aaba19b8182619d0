"""Invocation logs: Lambda's START/END/REPORT lines around the function's own output.

Lines are buffered in memory and written to PostgreSQL in batches by a background task, so an
invocation never waits for the database; ``flush`` makes everything logged so far readable. Each
invocation's lines are also appended to a local journal (``logjournal``) before it returns, so a
crash of the process between two batches loses none of them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from pathlib import Path

from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.functions import add_log_lines, logged_request_ids
from workers.functions.logjournal import open_journal, stop_book, write_batch
from workers.functions.output import TRUNCATED

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
    """Buffered log rows, written by one background task (and journaled to disk meanwhile).

    Memory is bounded by ``max_buffer`` rows: past it (the database is not keeping up) an
    invocation keeps only its frame (START, END, REPORT) and a ``[truncated]`` line, and past twice
    that nothing more is kept until a batch is written.
    """

    def __init__(
        self, sessions: SessionMaker | None, interval: float = 0.25, max_buffer: int = 100_000,
        journal: Path | None = None,
    ) -> None:  # fmt: skip
        self._sessions = sessions
        self._interval = interval
        self._max_buffer = max_buffer
        self._rows: list[Row] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._journal = (
            open_journal(journal, "function") if journal is not None and sessions is not None else None
        )
        self._replayed = self._journal is None
        self._dropped = 0
        self._warned = 0.0

    def add(self, function: str, request_id: str, lines: list[str], started: datetime | None = None) -> None:
        """Keep an invocation's lines: the first (START) at ``started``, the others at the end.

        Journaled before this returns: what an invocation logged survives a crash of the process.
        """
        if len(self._rows) + len(lines) > self._max_buffer and len(lines) > 3:
            lines = [
                lines[0],
                f"{TRUNCATED} {len(lines) - 3} lines not kept: the log store is behind",
                *lines[-2:],
            ]
        if len(self._rows) + len(lines) > 2 * self._max_buffer:
            self._dropped += 1
            self._warn_dropped()
            return
        if self._journal is not None:
            self._journal.write(function, request_id, started, lines)
        now = datetime.now(UTC)
        self._rows.extend((function, request_id, now, line) for line in lines)
        if started is not None and lines:
            self._rows[-len(lines)] = (function, request_id, started, lines[0])

    def start(self) -> None:
        if self._sessions is not None:
            self._task = asyncio.create_task(self._run(), name="stepline-function-logs")

    async def flush(self) -> None:
        """Make every row logged so far readable (and first, once, replay dead processes' journals)."""
        if self._sessions is None:
            self._rows.clear()
            return
        async with self._lock:
            if not self._replayed:
                await self._replay(self._sessions)
            rows, self._rows = self._rows, []
            if not rows:
                return
            await write_batch(self._sessions, self._journal, rows, self._rows, add_log_lines)

    async def close(self) -> None:
        await stop_book(self._task, self.flush, self._journal)
        self._journal = None

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except OSError as exc:  # database unreachable: keep the rows for the next attempt
                log.warning("function logs not written yet: %s", exc)
            await asyncio.sleep(self._interval)

    async def _replay(self, sessions: SessionMaker) -> None:
        """Write what crashed processes journaled and PostgreSQL does not have (whole invocations)."""
        assert self._journal is not None
        for orphan in await asyncio.to_thread(self._journal.orphans):
            try:
                async with unit_of_work(sessions) as session:
                    present = await logged_request_ids(session, {row[1] for row in orphan.rows})
                    await add_log_lines(session, [row for row in orphan.rows if row[1] not in present])
            except BaseException:
                orphan.release()
                raise
            orphan.done()
            if orphan.rows:
                log.info("function logs replayed from %s (%d rows)", orphan.lock.name, len(orphan.rows))
        self._replayed = True

    def _warn_dropped(self) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning(
                "function logs dropped: %d invocations so far (the log store is behind)", self._dropped
            )
