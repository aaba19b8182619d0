"""Invocation logs on local disk until PostgreSQL has them: an append-only journal per process.

``LogBook`` writes each invocation's lines here with one ``write(2)`` before the invocation's result
is returned, so they survive a crash of the process (kill -9, the OOM killer): the kernel holds
them. No fsync: that would cost the warm path a disk flush per invocation, and only a power loss
(or a kernel crash) can then lose the last batch. Each batch written to PostgreSQL retires the
segments it covers. A process that starts replays the segments of processes that died (their lock
file is no longer locked), skipping invocations that PostgreSQL already has.

Files (``0600`` in a ``0700`` directory: logs may hold what a function printed):
``<owner>.lock`` (flock held while the owner lives) and ``<owner>.<n>.log``, one record per
invocation: a head line ``@ <function> <request id> <started|-> <ended> <line count>`` (epoch
seconds), then its lines, one per line (a newline inside one is flattened to a space). Plain text
rather than JSON: this is on the warm path, and it costs a few microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from foundation.registry.database import SessionMaker, unit_of_work

log = logging.getLogger(__name__)
Row = tuple[str, str, datetime, str]
WARN_EVERY_SECONDS = 60.0
T = TypeVar("T")


def journal_directory(data_dir: Path, database_url: str) -> Path:
    """``<data_dir>/logs/<key>``: one directory per database (a digest of its URL less the password,
    which may change), so that a journal is only ever replayed into the database its process wrote
    to, whatever else shares the data dir."""
    parts = urlsplit(database_url)
    user, at, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}{at}{host}"
    key = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return data_dir / "logs" / hashlib.sha256(key.encode()).hexdigest()[:16]


class LogJournal:
    """This process's journal: ``write`` on the hot path, ``seal``/``retire`` around a batch."""

    def __init__(self, directory: Path) -> None:
        for missing in reversed([directory, *directory.parents]):  # each one made owner-only, not
            if not missing.exists():  # only the last (mkdir's parents=True leaves the rest 0755)
                missing.mkdir(mode=0o700, exist_ok=True)
        self.directory = directory
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd = os.open(
            directory / f"{self.owner}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._number = 0
        self._fd = -1
        self._size = 0
        self._sealed: list[Path] = []
        self._warned = 0.0
        self._open_segment()

    def write(self, function: str, request_id: str, started: datetime | None, lines: list[str]) -> None:
        """Append one invocation (its lines are already bounded: one write reaches the kernel whole)."""
        if self._fd < 0:
            return
        body = "\n".join(lines)
        if body.count("\n") != max(len(lines) - 1, 0):  # (never so for a sandbox's output: split on it)
            body = "\n".join(line.replace("\n", " ") for line in lines)
        start = repr(started.timestamp()) if started is not None else "-"
        head = f"@ {function} {request_id} {start} {time.time()!r} {len(lines)}\n"
        data = (head + body + "\n" if lines else head).encode("utf-8", "backslashreplace")
        try:
            written = os.write(self._fd, data)
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as exc:  # (a full disk): the rows are still in memory, written at the next batch
            self._warn(f"function logs not journaled: {exc.strerror}")
            return
        self._size += len(data)

    def seal(self) -> list[Path]:
        """Start a new segment; returns every segment not retired yet (what the next batch covers)."""
        if self._size:
            os.close(self._fd)
            self._sealed.append(self._segment_path(self._number))
            self._number += 1
            self._open_segment()
        return list(self._sealed)

    def retire(self, segments: list[Path]) -> None:
        """The rows of these segments are in PostgreSQL."""
        for path in segments:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            with contextlib.suppress(ValueError):
                self._sealed.remove(path)

    def close(self) -> None:
        """Remove the journal if everything was retired; else leave it to the next process's replay."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if not self._size and not self._sealed:
            for path in (self._segment_path(self._number), self.directory / f"{self.owner}.lock"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        os.close(self._lock_fd)

    def orphans(self) -> list[Orphan]:
        """The journals of processes that died, each locked by this process until ``done``/``release``."""
        found: list[Orphan] = []
        for lock in sorted(self.directory.glob("*.lock")):
            owner = lock.name.removesuffix(".lock")
            if owner == self.owner:
                continue
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # replayed meanwhile by another process
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its owner is alive
                continue
            segments = sorted(self.directory.glob(f"{owner}.*.log"), key=_segment_number)
            found.append(Orphan(lock, fd, segments, [row for path in segments for row in read_segment(path)]))
        return found

    def _open_segment(self) -> None:
        flags = os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(self._segment_path(self._number), flags, 0o600)
        self._size = 0

    def _segment_path(self, number: int) -> Path:
        return self.directory / f"{self.owner}.{number}.log"

    def _warn(self, message: str) -> None:
        now = time.monotonic()
        if now - self._warned > WARN_EVERY_SECONDS:
            self._warned = now
            log.warning(message)


@dataclass
class Orphan:
    """A dead process's journal: its rows, and the lock this process holds while replaying them."""

    lock: Path
    fd: int
    segments: list[Path]
    rows: list[Row]

    def done(self) -> None:
        """Replayed: remove it."""
        for path in self.segments:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.lock.unlink()
        os.close(self.fd)

    def release(self) -> None:
        """Not replayed (the database is unreachable): another attempt, here or elsewhere, will."""
        os.close(self.fd)


def read_segment(path: Path) -> list[Row]:
    """A segment's rows; a record cut short by the crash (the last one) is skipped."""
    rows: list[Row] = []
    try:
        text = path.read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return rows
    lines = text.split("\n")  # (the last element follows the last newline: "" when the file is whole)
    at = 0
    while at < len(lines):
        head = lines[at]
        at += 1
        if not head.startswith("@ "):
            continue  # (only after a damaged record)
        try:
            function, request_id, started, ended, count = head[2:].rsplit(" ", 4)
            end = datetime.fromtimestamp(float(ended), UTC)
            start = datetime.fromtimestamp(float(started), UTC) if started != "-" else end
            body = lines[at : at + int(count)]
        except (ValueError, OverflowError, OSError):
            continue
        if at + len(body) >= len(lines) or len(body) != int(count):
            break  # cut short: the write the crash interrupted
        at += len(body)
        rows.extend((function, request_id, start if i == 0 else end, line) for i, line in enumerate(body))
    return rows


def _segment_number(path: Path) -> int:
    try:
        return int(path.name.split(".")[-2])
    except (IndexError, ValueError):
        return -1


# What the two books over a journal share (function logs, execution logs) ---------------------------


def open_journal(directory: Path, what: str) -> LogJournal | None:
    """The journal, or None (logged) where it cannot be kept: ``what`` logs then live in memory until
    written."""
    try:
        return LogJournal(directory)
    except OSError as exc:
        log.warning("%s logs are not journaled (a crash loses the last batch): %s", what, exc)
        return None


async def write_batch(
    sessions: SessionMaker,
    journal: LogJournal | None,
    rows: list[T],
    pending: list[T],
    write: Callable[[AsyncSession, list[T]], Awaitable[object]],
) -> None:
    """Write ``rows`` in one transaction, then retire the journal segments they were in; if that
    fails, they go back to the front of ``pending`` (the book's buffer) and the error is raised."""
    sealed = journal.seal() if journal is not None else []
    try:
        async with unit_of_work(sessions) as session:
            await write(session, rows)
    except BaseException:
        pending[:0] = rows
        raise
    if journal is not None:
        journal.retire(sealed)


async def stop_book(
    task: asyncio.Task[None] | None, flush: Callable[[], Awaitable[None]], journal: LogJournal | None
) -> None:
    """Stop a book's writer ``task``, write what is left if PostgreSQL is reachable, and close the
    journal (its segments are kept for the next process if the last batch was not written)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(OSError):
        await flush()
    if journal is not None:
        journal.close()
