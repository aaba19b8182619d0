"""What a function's configuration attaches to its sandboxes: file systems and database proxies.

The function runtime calls ``resolve_attachments`` when it creates an execution environment and
applies the result (bind mounts, environment variables, the POSIX identity to run as). The database
proxy and file system features fill this in; with neither configured it attaches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class BindMount:
    """A host path bound into the sandbox."""

    source: Path
    target: str
    read_only: bool = True


@dataclass(frozen=True, slots=True)
class Attachments:
    """Everything to add to one function's sandboxes."""

    mounts: Sequence[BindMount] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    run_as: tuple[int, int] | None = None
    """(uid, gid) the sandboxed process runs as, e.g. an access point's POSIX user."""


async def resolve_attachments(function_config: Mapping[str, Any], data_dir: Path) -> Attachments:
    """The attachments for a function's configuration (``fileSystemConfigs``, ``dbProxies``)."""
    return Attachments()
