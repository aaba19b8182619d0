"""What a sandbox gets beyond its function's code: bind mounts, environment variables and the host
identity it runs as (``Attachments``), as the function runtime applies them.

``workers.attachments`` resolves a function's configuration into ``Attachments``; the function
runtime (``workers.functions.sandbox``) applies them. Both import this module, which imports
neither.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 993
"""The host user a sandbox runs as, unless an access point names another (``Attachments.run_as``)."""
SANDBOX_GID = 990


@dataclass(frozen=True, slots=True)
class BindMount:
    """A host directory bound into the sandbox."""

    source: Path
    target: str
    read_only: bool = True
    fd: int | None = None
    """An open descriptor of the directory, bound instead of ``source`` (``--bind-fd``): a file
    system's content can be swapped by functions, so its paths must not be looked up again. Owned
    by the ``Attachments`` holding the mount."""


@dataclass(frozen=True, slots=True)
class Attachments:
    """Everything to add to one sandbox; it owns the mounts' descriptors until they are taken."""

    mounts: Sequence[BindMount] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    run_as: tuple[int, int] | None = None
    """(uid, gid) the sandboxed process runs as, e.g. an access point's POSIX user."""
    _open: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    """The mounts' descriptors not yet taken or closed."""

    def __post_init__(self) -> None:
        self._open.extend(m.fd for m in self.mounts if m.fd is not None)

    @property
    def identity(self) -> tuple[int, int]:
        """(uid, gid) the sandbox runs as: ``run_as``, else the sandbox user."""
        return self.run_as or (SANDBOX_UID, SANDBOX_GID)

    def take_descriptors(self) -> list[int]:
        """The mounts' descriptors, now the caller's to pass to bubblewrap and close (``spawn``)."""
        taken = list(self._open)
        self._open.clear()
        return taken

    def close(self) -> None:
        """Close the descriptors not taken (a sandbox that was not started); idempotent."""
        while self._open:
            os.close(self._open.pop())
