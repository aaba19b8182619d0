"""Shared file systems on the host: where they live, access point roots, what gets bound where.

A file system is a directory (``<data_dir>/fs/<name>`` or an operator-allowed host path). An
access point is a directory inside it, created on first use with its POSIX owner and mode; a
function given the access point sees only that directory, because only it is bound into the
sandbox.

Functions that mount a file system read-write can rename, replace and plant symbolic links in it
while another function's sandbox is being set up, so nothing in a file system is ever looked up by
path twice: an access point's root is reached one component at a time from an opened descriptor,
never following a link (``O_NOFOLLOW``), created with ``mkdirat`` relative to its opened parent,
given its owner and mode through its own descriptor (``fchown``/``fchmod``), and bubblewrap binds
that descriptor (``--bind-fd``), not a path. Nothing that another tenant could have replaced is
accepted on the way: every directory crossed belongs to the worker or to the access point's user
and is not writable by others unless sticky, and the root belongs to the access point's user. The
file system's own directory is world-writable (functions share it) and sticky, so that a function
can rename or remove only its own entries, never another tenant's root.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from foundation.errors import InvalidValue

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
MOUNT_PARENT = "/mnt"


class FileSystemError(InvalidValue):
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


SHARED_MODE = 0o1777
"""A file system's directory: everyone may create entries, each may rename or remove only their own."""
PARENT_MODE = 0o755
"""A directory the worker makes above an access point's root: only the worker adds or renames entries."""
_LOOKUP = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MODIFY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_file_system(path: Path) -> int:
    """The file system's directory, created if needed, world-writable and sticky: an ``O_PATH``
    descriptor the caller closes. A world- or group-writable directory without the sticky bit gets
    it (an earlier version made them 0777): otherwise any function could replace any entry.

    ``path`` itself is trusted (the data directory, or an operator-allowed host path checked when
    the file system was registered): no function can reach above the file system's directory.
    """
    created = False
    try:
        path.mkdir(parents=True)
        created = True
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileSystemError(f"file system path {path} is not a usable directory: {exc.strerror}") from None
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if created:
            os.fchmod(fd, SHARED_MODE)
        elif mode & 0o022 and not mode & stat.S_ISVTX:
            os.fchmod(fd, mode | stat.S_ISVTX)
        return os.open(".", _LOOKUP, dir_fd=fd)
    except OSError as exc:
        raise FileSystemError(f"file system path {path}: cannot make it sticky: {exc.strerror}") from None
    finally:
        os.close(fd)


def prepare_file_system(path: Path) -> Path:
    """``open_file_system`` for callers that want the path (tools, tests): never bind it (bind the
    descriptor), a function may have replaced what it names."""
    os.close(open_file_system(path))
    return path.resolve()


@dataclass(frozen=True, slots=True)
class AccessPointSpec:
    """Where an access point roots functions and who they are there."""

    root_directory: str
    uid: int
    gid: int
    permissions: int = 0o755


def refused_ids(uid: int, gid: int) -> list[str]:
    """Which of an access point's ``uid``/``gid`` are refused: 0, root. A sandbox running as host
    uid 0 owns whatever root owns on the host (and group 0 is root's group)."""
    return [name for name, value in (("uid", uid), ("gid", gid)) if value == 0]


def open_access_point(file_system: int, spec: AccessPointSpec) -> int:
    """The access point's root, reached from the file system's descriptor one component at a time
    without following links and created where missing: an ``O_PATH``/``O_RDONLY`` descriptor the
    caller binds (``--bind-fd``) and closes. Refuses whatever another tenant could have planted or
    could replace (see the module docstring), with the reason."""
    parts = check_root_directory(spec.root_directory).parts[1:]
    if refused := refused_ids(spec.uid, spec.gid):
        raise FileSystemError(f"access point posixUser.{refused[0]} 0 (root) is refused")
    walk = _Walk(spec, os.geteuid())
    current = os.open(".", _LOOKUP, dir_fd=file_system)
    try:
        for depth, name in enumerate(parts, start=1):
            walk.check_parent(current, "/" + "/".join(parts[: depth - 1]))
            child = walk.enter(current, name, "/" + "/".join(parts[:depth]), last=depth == len(parts))
            os.close(current)
            current = child
        if parts:
            walk.check_root(current)
        return current
    except BaseException:
        os.close(current)
        raise


@dataclass(frozen=True, slots=True)
class _Walk:
    """The checks and the creation of ``open_access_point``, for one access point."""

    spec: AccessPointSpec
    worker_uid: int

    def _refuse(self, why: str) -> FileSystemError:
        return FileSystemError(f"access point root {self.spec.root_directory!r}: {why}")

    def check_parent(self, fd: int, shown: str) -> None:
        """Only the worker or the access point's user may rename what is in a directory crossed."""
        info = os.fstat(fd)
        if info.st_uid not in (self.worker_uid, self.spec.uid):
            raise self._refuse(
                f"{shown!r} belongs to uid {info.st_uid}, which could replace what is in it; it must belong "
                f"to the worker's user ({self.worker_uid}) or the access point's ({self.spec.uid})"
            )
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            raise self._refuse(
                f"{shown!r} is writable by other users without the sticky bit, so they could replace "
                "what is in it (chmod go-w or +t)"
            )

    def check_root(self, fd: int) -> None:
        """Only the worker (when it creates the root) or the access point's user can make a
        directory owned by that user: one owned by anyone else was planted, or is not this root."""
        owner = os.fstat(fd).st_uid
        if owner != self.spec.uid:
            raise self._refuse(
                f"the directory belongs to uid {owner}, not to the access point's uid {self.spec.uid}: it "
                f"was not made for this access point (chown it to {self.spec.uid}:{self.spec.gid} if it is)"
            )

    def enter(self, parent: int, name: str, shown: str, *, last: bool) -> int:
        """Open ``name`` in ``parent`` without following a link, or create it."""
        for _ in range(3):  # made or removed concurrently by another worker: look again
            try:
                return os.open(name, _LOOKUP, dir_fd=parent)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno in (errno.ENOTDIR, errno.ELOOP):
                    raise self._refuse(
                        f"{shown!r} is a symbolic link or not a directory (links are never followed: one "
                        "could lead out of the file system)"
                    ) from None
                raise
            made = self._create(parent, name, shown, last=last)
            if made is not None:
                return made
        raise self._refuse(f"{shown!r} keeps appearing and disappearing")

    def _create(self, parent: int, name: str, shown: str, *, last: bool) -> int | None:
        """Make ``name`` whole (owner and mode, set through its own descriptor) under a temporary
        name, then move it in place unless something is there by now (``None``: another worker made
        it, look again). No worker ever finds a root not yet given to its user."""
        temporary = f".{name}.{secrets.token_hex(6)}.stepline-new"
        os.mkdir(temporary, 0o700, dir_fd=parent)
        fd = -1
        try:
            fd = os.open(temporary, _MODIFY, dir_fd=parent)
            made = os.fstat(fd)
            if made.st_uid != self.worker_uid:
                raise self._refuse(f"{shown!r} was replaced while it was being created")
            if last:
                self._give(fd, shown)
                os.fchmod(fd, self.spec.permissions)
            else:
                os.fchmod(fd, PARENT_MODE)
            if not _rename_noreplace(parent, temporary, name):
                os.close(fd)
                os.rmdir(temporary, dir_fd=parent)
                return None
            placed = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if (placed.st_dev, placed.st_ino) != (made.st_dev, made.st_ino):
                raise self._refuse(f"{shown!r} was replaced while it was being created")
            return fd
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.rmdir(temporary, dir_fd=parent)
            raise

    def _give(self, fd: int, shown: str) -> None:
        try:
            os.fchown(fd, self.spec.uid, self.spec.gid)
        except PermissionError:
            raise self._refuse(
                f"cannot give {shown!r} to uid {self.spec.uid} gid {self.spec.gid}: the worker is not root"
            ) from None


RENAME_NOREPLACE = 1


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _rename_noreplace(dir_fd: int, old: str, new: str) -> bool:
    """``renameat2(RENAME_NOREPLACE)`` within one directory: False when ``new`` exists. Where the file
    system lacks it (some network file systems), a plain rename when ``new`` is absent: only another
    worker could then make it in between, and its directory would be an empty one just made."""
    if _libc().renameat2(dir_fd, old.encode(), dir_fd, new.encode(), RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EEXIST:
        return False
    if code not in (errno.EINVAL, errno.ENOSYS):
        raise OSError(code, os.strerror(code), new)
    try:
        os.stat(new, dir_fd=dir_fd, follow_symlinks=False)
        return False
    except FileNotFoundError:
        os.rename(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return True


def prepare_access_point(fs_root: Path, spec: AccessPointSpec) -> Path:
    """``open_access_point`` for callers that want the path (tools, tests): never bind it (bind the
    descriptor), a function may have replaced what it names."""
    file_system = os.open(fs_root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.close(open_access_point(file_system, spec))
    finally:
        os.close(file_system)
    return fs_root.resolve().joinpath(*check_root_directory(spec.root_directory).parts[1:])


def mount_target(local_mount_path: str, where: str) -> str:
    """``localMountPath`` checked: exactly ``/mnt/<name>``."""
    path = PurePosixPath(local_mount_path)
    if str(path.parent) != MOUNT_PARENT or not NAME.match(path.name):
        raise FileSystemError(f"{where}.localMountPath {local_mount_path!r} must be /mnt/<name>")
    return str(path)
