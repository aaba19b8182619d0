"""The data directory's permissions: private, except the paths that sandboxes must reach.

Sandboxes may run as unprivileged host users (``workers.functions.sandbox.can_drop_root``); they
need search permission (``x``, not ``r``: no listing) on the way to what is bound into them::

    <data_dir>/           0711  traversed by sandbox users
      code/               0711  function code: <sha256>/ 0755, files 0644, bound read-only
      run/                0711  db proxy sockets (who connects is checked with SO_PEERCRED)
      fs/                 0711  file systems (each 0777: functions share them)
      concurrency/        0700  the worker's slot locks
      postgres/           0700  ``stepline dev``'s PostgreSQL (PostgreSQL insists on it)
      secret.key, temporal.db*, temporal.log, dev.lock, dev.json   0600

Every entry point calls ``prepare_data_dir`` first, which also repairs a data directory made by an
older version (``temporal.db`` was 0644).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

SEARCHABLE = ("code", "run", "fs")
PRIVATE_DIRS = ("concurrency",)
PRIVATE_FILES = (
    "secret.key", "temporal.db", "temporal.db-wal", "temporal.db-shm", "temporal.log", "dev.lock", "dev.json",
)  # fmt: skip
PRIVATE_UMASK = 0o077
"""For the embedded servers: whatever they create is their owner's alone."""


def prepare_data_dir(data_dir: Path) -> Path:
    """Create ``data_dir`` and its known subdirectories with the modes above; return it resolved."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _set_mode(data_dir, 0o711)
    for name in SEARCHABLE:
        _make_dir(data_dir / name, 0o711)
    for name in PRIVATE_DIRS:
        _make_dir(data_dir / name, 0o700)
    for name in PRIVATE_FILES:
        _set_mode(data_dir / name, 0o600)
    return data_dir


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for appending, created (or repaired) readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")


def _make_dir(path: Path, mode: int) -> None:
    path.mkdir(mode=mode, exist_ok=True)
    _set_mode(path, mode)


def _set_mode(path: Path, mode: int) -> None:
    """chmod unless ``path`` is missing or a symbolic link (never follow one planted in the data dir)."""
    try:
        current = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(current.st_mode) and stat.S_IMODE(current.st_mode) != mode:
        path.chmod(mode)
