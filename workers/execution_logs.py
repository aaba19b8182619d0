"""Execution log events on their way to PostgreSQL: journaled at once, written in batches.

Whoever runs an execution (a synchronous Express one in the API, an asynchronous one in a worker)
hands its log events to this process's ``ExecutionLogBook`` (``book_for``): ``add`` appends them to a
local journal (``workers.functions.logjournal``, one ``write(2)``: they survive a kill -9 of the
process) and to a buffer a background task writes in one statement ``interval`` seconds after rows
arrive (so rows arriving meanwhile share the batch), off the execution's path. A process that
starts replays the journals of processes that died. Rows are unique per (execution, attempt,
event), so a batch written twice is stored once.

Journal records: the log group as the "function", ``<execution ARN>#<attempt>`` as the "request id",
one log event's JSON text per line (JSON text holds no newline).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry import execution_logs as registry
from foundation.registry import executions
from foundation.registry.database import SessionMaker, unit_of_work
from foundation.registry.execution_logs import LoggingConfig, LogRow
from foundation.settings import Settings
from statemachine import HistoryEvent, execution_arn, log_event, logged
from workers.functions.logjournal import Row, journal_directory, open_journal, stop_book, write_batch

log = logging.getLogger(__name__)
MAX_BUFFER = 200_000
"""Rows kept in memory while PostgreSQL is away (they stay in the journal past it)."""


def rows_of(
    events: Iterable[HistoryEvent], config: LoggingConfig, execution_arn: str, machine: str, attempt: int = 0
) -> list[LogRow]:
    """The log rows of ``events`` that ``config`` logs (none when it is off)."""
    if not config.on or config.log_group is None:
        return []
    out: list[LogRow] = []
    for event in events:
        if not logged(config.level, event.type):
            continue
        message = log_event(event.to_json(), execution_arn, config.include_execution_data)
        out.append(
            LogRow(
                config.log_group, machine, execution_arn, attempt, event.id, event.type, event.timestamp,
                json.dumps(message, separators=(",", ":"), ensure_ascii=False),
            )
        )  # fmt: skip
    return out


async def log_finished(session: AsyncSession, execution_id: str, region: str) -> int:
    """Log a finished Standard execution's events as its machine's configuration says (in the
    transaction of the activity that wrote its end: retried with it, stored once); how many. After a
    redrive, the events already logged stay as they were; the new ones carry the redrive count."""
    machine, _, name = execution_id.partition(":")
    config = await registry.config_of(session, machine)
    if not config.on or config.log_group is None:
        return 0
    arn = execution_arn(machine, name, region)
    redrives = (await executions.get_execution(session, execution_id)).redrive_count
    rows: list[LogRow] = []
    after: int | None = None
    while events := await executions.history_page(session, execution_id, 1000, after, False):
        after = int(events[-1]["id"])
        for event in events:
            if logged(config.level, str(event["type"])):
                message = log_event(event, arn, config.include_execution_data, redrives)
                text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
                stamp = datetime.fromtimestamp(int(str(message["event_timestamp"])) / 1000, UTC)
                event_id, kind = int(event["id"]), str(event["type"])
                rows.append(LogRow(config.log_group, machine, arn, 0, event_id, kind, stamp, text))
    await registry.add_events(session, rows)
    return len(rows)


class ExecutionLogBook:
    """This process's buffer of log rows (see the module docstring)."""

    def __init__(self, sessions: SessionMaker, journal: Path | None, interval: float = 0.02) -> None:
        """``interval``: how long rows gather after the first of a batch arrives (and at least
        between two batches) before they are written together."""
        self._sessions = sessions
        self._interval = interval
        self._arrived = asyncio.Event()
        self._rows: list[LogRow] = []
        self._journal = open_journal(journal, "execution") if journal is not None else None
        self._replayed = self._journal is None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def add(self, rows: list[LogRow]) -> None:
        """Keep ``rows`` (journaled before this returns) for the next batch."""
        if not rows:
            return
        if self._journal is not None:
            by_run: dict[tuple[str, str], list[str]] = {}
            for row in rows:
                by_run.setdefault((row.log_group, f"{row.execution_arn}#{row.attempt}"), []).append(
                    row.message
                )
            for (group, run), lines in by_run.items():
                self._journal.write(group, run, None, lines)
        if len(self._rows) < MAX_BUFFER:
            self._rows.extend(rows)
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="stepline-execution-logs")

    async def flush(self) -> None:
        """Write every row added so far (first, once, what dead processes journaled)."""
        async with self._lock:
            if not self._replayed:
                await self._replay()
            rows, self._rows = self._rows, []
            if not rows:
                return
            await write_batch(self._sessions, self._journal, rows, self._rows, registry.add_events)

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Write what is left and close the journal (kept for the next process if that failed)."""
        self._closed = True
        await stop_book(self._task, self.flush, self._journal)
        self._journal = None

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            await asyncio.sleep(self._interval)  # a batch gathers
            self._arrived.clear()
            try:
                await self.flush()
            except OSError as exc:  # the database away: the rows wait (and are journaled)
                log.warning("execution logs not written yet: %s", exc)
                self._arrived.set()
                await asyncio.sleep(1.0)

    async def _replay(self) -> None:
        assert self._journal is not None
        for orphan in await asyncio.to_thread(self._journal.orphans):
            try:
                async with unit_of_work(self._sessions) as session:
                    await registry.add_events(
                        session, [r for r in map(_row_of, orphan.rows) if r is not None]
                    )
            except BaseException:
                orphan.release()
                raise
            orphan.done()
        self._replayed = True


def _row_of(row: Row) -> LogRow | None:
    """A journaled line back as a row (None for a damaged one)."""
    group, run, _, line = row
    arn, _, attempt = run.rpartition("#")
    try:
        message = json.loads(line)
        stamp = datetime.fromtimestamp(int(message["event_timestamp"]) / 1000, UTC)
        machine = arn.split(":")[6]
        return LogRow(
            group, machine, arn, int(attempt), int(message["id"]), str(message["type"]), stamp, line
        )
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        return None


_BOOKS: weakref.WeakKeyDictionary[object, ExecutionLogBook] = weakref.WeakKeyDictionary()


def book_for(settings: Settings, sessions: SessionMaker) -> ExecutionLogBook:
    """The process's book for the registry ``sessions`` reach (one journal per database, under
    ``<data_dir>/execution-logs``, apart from the function logs' journal); a new one once closed."""
    found = _BOOKS.get(sessions)
    if found is None or found.closed:
        url = settings.database.url.get_secret_value()
        directory = journal_directory(settings.data_dir / "execution-logs", url)
        found = _BOOKS[sessions] = ExecutionLogBook(sessions, directory)
    return found
