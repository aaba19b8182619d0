"""Concurrency limits that hold across worker processes: one lock file per unit of concurrency.

A running invocation holds one slot of the overall pool (``max_environments``) and, when its
function has reserved concurrency, one of that function's slots. A slot is an exclusive ``flock``
on a file under the shared data directory:

- no database round trip on the invoke path (two non-blocking syscalls per slot);
- a crashed worker releases its slots the instant the kernel closes its files, where a lease
  table would keep them until a lease expires;
- every worker on the host sees the same limits, because they share the data directory anyway
  (the code store lives there). Workers on several hosts need a shared file system with working
  ``flock`` (NFSv4 has it); otherwise each host enforces its own share.
"""

from __future__ import annotations

import fcntl
import os
import random
from dataclasses import dataclass
from pathlib import Path

from workers.functions.errors import TooManyRequestsError


@dataclass(slots=True)
class Slot:
    """Held slots; give them back with ``SlotTable.release``."""

    held: list[tuple[str, int]]


class SlotTable:
    """The lock files of this process, opened once, with the slots it holds."""

    def __init__(self, root: Path, overall: int) -> None:
        self._root = root
        self._overall = overall
        self._fds: dict[tuple[str, int], int] = {}
        self._held: set[tuple[str, int]] = set()
        root.mkdir(parents=True, exist_ok=True)

    def acquire(self, function: str, reserved: int | None) -> Slot:
        """Take a slot of the function (if reserved) and of the overall pool, or throttle."""
        held: list[tuple[str, int]] = []
        if reserved is not None and not self._take(f"fn-{function}", reserved, held):
            raise TooManyRequestsError(
                f"Rate Exceeded. Function {function} reached its reserved concurrency ({reserved})"
            )
        if not self._take("overall", self._overall, held):
            self.release(Slot(held))
            raise TooManyRequestsError(f"Rate Exceeded. Concurrency limit ({self._overall}) reached")
        return Slot(held)

    def release(self, slot: Slot) -> None:
        for key in slot.held:
            fcntl.flock(self._fds[key], fcntl.LOCK_UN)
            self._held.discard(key)
        slot.held.clear()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._held.clear()

    def _take(self, group: str, size: int, held: list[tuple[str, int]]) -> bool:
        if size <= 0:
            return False
        start = random.randrange(size)
        for i in range(size):
            key = (group, (start + i) % size)
            if key in self._held:
                continue
            fd = self._fds.get(key)
            if fd is None:
                directory = self._root / group
                directory.mkdir(exist_ok=True)
                fd = os.open(directory / f"{key[1]}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._fds[key] = fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held.add(key)
            held.append(key)
            return True
        return False
