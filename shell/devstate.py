"""One ``stepline dev`` per data directory, and what a killed one left behind.

``<data_dir>/dev.lock`` is flocked while ``stepline dev`` runs, so a second one on the same data
directory is refused instead of sharing (and then stopping) the first one's servers.
``<data_dir>/dev.json`` records what it started: each server's pid with its start time (field 22
of ``/proc/<pid>/stat``), so that a pid since reused by another process is never taken for it,
and its scratch directory. A ``stepline dev`` killed with -9 cleans up nothing; the next one,
holding the lock, stops what still runs and removes the scratch directory, and says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from foundation.errors import StartRefused


class DevBusy(StartRefused):
    """Another ``stepline dev`` holds the data directory."""


@dataclass(frozen=True, slots=True)
class Child:
    """A server ``stepline dev`` started: enough to find exactly that process again."""

    name: str
    pid: int
    start: int
    """Start time in clock ticks after boot (``/proc/<pid>/stat``): tells it from a reused pid."""
    stop_signal: int = signal.SIGTERM

    @classmethod
    def of(cls, name: str, pid: int, stop_signal: int = signal.SIGTERM) -> Child | None:
        start = process_start(pid)
        return None if start is None else cls(name, pid, start, stop_signal)

    def running(self) -> bool:
        return process_start(self.pid) == self.start


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (ticks after boot), or None if there is no such process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22; the command name before ")" may hold spaces


def stop(child: Child, timeout: float = 30.0) -> bool:
    """Stop ``child`` if it is still that process: its stop signal, SIGKILL after ``timeout`` s.
    False if it was gone already. A pidfd pins the process, so a reused pid is never signalled."""
    try:
        pidfd = os.pidfd_open(child.pid)
    except ProcessLookupError:
        return False
    try:
        if not child.running():  # checked after pinning it: this pidfd is that process or none
            return False
        for sig, wait in ((child.stop_signal, timeout), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(pidfd, sig)
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if poller.poll(wait * 1000):  # readable once it has exited
                return True
        return True
    finally:
        os.close(pidfd)


class DevState:
    """The lock and the record of one data directory's ``stepline dev``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock_path = data_dir / "dev.lock"
        self._record_path = data_dir / "dev.json"
        self._fd: int | None = None
        self._children: list[Child] = []
        self._scratch: Path | None = None

    def acquire(self) -> None:
        """Take the data directory, or raise ``DevBusy`` naming the ``stepline dev`` that has it."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            who = f"another stepline dev (pid {holder})" if holder.isdigit() else "another stepline dev"
            raise DevBusy(
                f"{who} is using {self.data_dir}: stop it first, or give this one another STEPLINE_DATA_DIR"
            ) from None
        os.fchmod(fd, 0o600)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Everything stopped cleanly: forget the record and let the next ``stepline dev`` in."""
        self._record_path.unlink(missing_ok=True)
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def leftovers(self) -> tuple[list[Child], Path | None]:
        """What the previous ``stepline dev`` recorded and did not clean up: the servers still
        running (the same processes) and its scratch directory if it is still there."""
        try:
            record = json.loads(self._record_path.read_text())
            children = [Child(**child) for child in record.get("children", [])]
            scratch = Path(record["scratch"]) if record.get("scratch") else None
        except (OSError, ValueError, TypeError, KeyError):
            return [], None
        running = [child for child in children if child.running()]
        return running, scratch if scratch is not None and _own_directory(scratch) else None

    def record_child(self, name: str, pid: int, stop_signal: int = signal.SIGTERM) -> None:
        child = Child.of(name, pid, stop_signal)
        if child is not None:
            self._children.append(child)
            self._write()

    def make_scratch(self) -> Path:
        """A private directory for this run's temporary files (sandbox users may traverse it to
        their sockets), recorded before anything is put in it."""
        self._scratch = Path(tempfile.mkdtemp(prefix="stepline-dev-"))
        self._scratch.chmod(0o711)
        self._write()
        return self._scratch

    def _write(self) -> None:
        record = {
            "pid": os.getpid(),
            "children": [asdict(child) for child in self._children],
            "scratch": str(self._scratch) if self._scratch is not None else None,
        }
        partial = self._record_path.with_name("dev.json.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        os.replace(partial, self._record_path)


def remove_scratch(path: Path) -> None:
    """Delete a scratch directory this user made (never through a symbolic link)."""
    if _own_directory(path):
        shutil.rmtree(path, ignore_errors=True)


def _own_directory(path: Path) -> bool:
    try:
        found = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid()
