"""A wake-up signal from Linux's inotify (a small ctypes binding): "something changed under the
directories watched", nothing more.

The file-system source never trusts these events for what changed (a watch can be missed, the queue
can overflow, a worker can be down): they only shorten the wait before the next scan, which compares
the directory with the stored snapshot. A directory is watched through its already opened descriptor
(``/proc/self/fd/N``), so a watch never lands on what a path names after a rename or a planted link.
Reading drains the kernel's queue into a fixed buffer: memory stays bounded however many events a
flood of files raises.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = (
    0x40, 0x80, 0x100, 0x200, 0x400, 0x800,
)  # fmt: skip
IN_ONLYDIR = 0x01000000
MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
    | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
)  # fmt: skip
_NONBLOCK, _CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


class Watcher:
    """Watches directories (by descriptor) and sets ``changed`` when any of them changes. Where
    inotify is unavailable (or out of watches), it watches nothing and the caller's periodic scan is
    all there is."""

    def __init__(self, max_watches: int) -> None:
        self.changed = asyncio.Event()
        self.watches: set[int] = set()
        self._max = max_watches
        self._fd: int = _libc().inotify_init1(_NONBLOCK | _CLOEXEC)
        if self._fd >= 0:
            asyncio.get_running_loop().add_reader(self._fd, self._drain)

    @property
    def available(self) -> bool:
        return self._fd >= 0

    def start_round(self) -> None:
        """A new scan: count the watches again (the kernel drops those of removed directories; adding
        a watch to a directory watched already answers its old number)."""
        self.watches.clear()

    def watch(self, directory: int) -> None:
        """Watch the directory open as ``directory`` (a no-op past ``max_watches`` or on failure)."""
        if self._fd < 0 or len(self.watches) >= self._max:
            return
        path = f"/proc/self/fd/{directory}".encode()
        wd: int = _libc().inotify_add_watch(self._fd, path, MASK)
        if wd >= 0:
            self.watches.add(wd)

    def _drain(self) -> None:
        """Read what is queued (at most 16 reads: under a flood the loop calls again when it may, so
        other tasks are never starved) and say something changed."""
        for _ in range(16):
            try:
                if not os.read(self._fd, 65536):
                    break
            except OSError:  # BlockingIOError: drained
                break
        self.changed.set()

    def close(self) -> None:
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
