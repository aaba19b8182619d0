"""Shared file systems on the host: where they live, access point roots, what gets bound where.

A file system is a directory (``<data_dir>/fs/<name>`` or an operator-allowed host path). An
access point is a directory inside it, created on first use with its POSIX owner and mode; a
function given the access point sees only that directory, because only it is bound into the
sandbox. Every path is resolved and checked to stay inside its file system, so a symlink planted by
one function cannot redirect another function's mount elsewhere on the host.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MOUNT_PARENT = "/mnt"


class FileSystemError(ValueError):
    """A file system, access point or mount that cannot be used as asked; says what and where."""


def check_name(kind: str, name: str) -> str:
    if not NAME.match(name):
        raise FileSystemError(
            f"{kind} name {name!r} must start with a letter and hold only letters, digits, '-' and '_' "
            "(at most 64)"
        )
    return name


def file_system_path(data_dir: Path, name: str, host_path: str | None) -> Path:
    """Where file system ``name`` lives on the host."""
    return Path(host_path) if host_path is not None else data_dir.resolve() / "fs" / name


def check_host_path(host_path: str, allowed_roots: list[Path]) -> Path:
    """An operator-allowed host directory for a file system, or a clear refusal."""
    path = Path(host_path)
    if not path.is_absolute():
        raise FileSystemError(f"hostPath {host_path!r} must be absolute")
    resolved = path.resolve()
    for root in allowed_roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    allowed = ", ".join(str(r) for r in allowed_roots) or "none (set STEPLINE_FILE_SYSTEM_ROOTS)"
    raise FileSystemError(f"hostPath {host_path!r} is outside the allowed roots: {allowed}")


def check_root_directory(root_directory: str) -> PurePosixPath:
    """An access point's root: an absolute path inside the file system, without ``..``."""
    path = PurePosixPath(root_directory)
    if not path.is_absolute() or ".." in path.parts:
        raise FileSystemError(f"rootDirectory {root_directory!r} must be absolute and must not contain '..'")
    return path


def prepare_file_system(path: Path) -> Path:
    """Create the file system's directory if needed (world-writable: functions share it)."""
    if not path.exists():
        path.mkdir(parents=True)
        path.chmod(0o777)
    if not path.is_dir():
        raise FileSystemError(f"file system path {path} is not a directory")
    return path.resolve()


@dataclass(frozen=True, slots=True)
class AccessPointSpec:
    """Where an access point roots functions and who they are there."""

    root_directory: str
    uid: int
    gid: int
    permissions: int = 0o755


def prepare_access_point(fs_root: Path, spec: AccessPointSpec) -> Path:
    """The access point's host directory, created with its owner and mode on first use."""
    relative = check_root_directory(spec.root_directory).relative_to("/")
    fs_root = fs_root.resolve()
    target = (fs_root / relative).resolve()  # symlinks in the existing part are followed here...
    if not target.is_relative_to(fs_root):  # ...so a planted one is caught before anything is made
        raise FileSystemError(f"access point root {spec.root_directory!r} leaves its file system")
    if not target.exists():
        target.mkdir(parents=True)
        os.chown(target, spec.uid, spec.gid)
        target.chmod(spec.permissions)
    if not target.is_dir():
        raise FileSystemError(f"access point root {spec.root_directory!r} is not a directory")
    return target


def mount_target(local_mount_path: str, where: str) -> str:
    """``localMountPath`` checked: exactly ``/mnt/<name>``."""
    path = PurePosixPath(local_mount_path)
    if str(path.parent) != MOUNT_PARENT or not NAME.match(path.name):
        raise FileSystemError(f"{where}.localMountPath {local_mount_path!r} must be /mnt/<name>")
    return str(path)
