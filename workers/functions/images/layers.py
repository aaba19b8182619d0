"""Applying image layers to a root file system, as a hostile tenant's layers would be.

Each layer is a tar (plain, gzip or zstd: told by its first bytes) applied on the layers below it:
whiteouts (``.wh.NAME``) delete what a lower layer put at NAME, an opaque marker (``.wh..wh..opq``)
empties its directory of what lower layers put there. Nothing outside the root is ever touched:
every path is walked component by component from the root's descriptor without following a
symbolic link (an entry whose path passes through one is refused, whichever layer made it); names
with ``..``, absolute names, device nodes and FIFOs are refused; setuid, setgid and sticky bits are
dropped; files belong to the worker's user. Symbolic links are stored as they are: they are only
ever resolved inside the sandbox, whose root is the image's. The sizes and entry counts of all
layers together are bounded (``Budget``). Errors name the layer and the entry, never a host path.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import zstandard

from workers.functions.images.sources import InvalidImage

MAX_ROOTFS_BYTES = 10 * 1024 * 1024 * 1024
"""Lambda's limit on a container image's uncompressed size (10 GB)."""
MAX_ROOTFS_ENTRIES = 500_000
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
MAX_DEPTH = 128
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1024 * 1024
CORRUPT = (tarfile.TarError, zlib.error, EOFError, gzip.BadGzipFile, zstandard.ZstdError)


@dataclass(slots=True)
class Budget:
    """What the layers of one image may still write, all together."""

    bytes_left: int = MAX_ROOTFS_BYTES
    entries_left: int = MAX_ROOTFS_ENTRIES

    def take(self, label: str, size: int) -> None:
        self.entries_left -= 1
        self.bytes_left -= size
        if self.entries_left < 0:
            raise InvalidImage(f"{label}: the image has over {MAX_ROOTFS_ENTRIES} entries")
        if self.bytes_left < 0:
            raise InvalidImage(f"{label}: the image is over {MAX_ROOTFS_BYTES} bytes unpacked")


class _Hashing:
    """A read-only stream that hashes what passes through it (a layer's uncompressed digest)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.digest.update(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """``raw``'s content, decompressed when it starts as gzip or zstd does."""
    head = raw.read(4)
    raw.seek(0)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw


def entry_path(name: str, label: str) -> tuple[str, ...]:
    """The components of an entry's path inside the root; ``InvalidImage`` when it could leave it."""
    shown = f"{label}: the entry {name[:200]!r}"
    if "\x00" in name:
        raise InvalidImage(f"{shown} has a NUL character")
    if name.startswith("/"):
        raise InvalidImage(f"{shown} is an absolute path")
    parts = tuple(p for p in PurePosixPath(name).parts if p != ".")
    if ".." in parts:
        raise InvalidImage(f"{shown} points outside the image (..)")
    if len(parts) > MAX_DEPTH or len(name.encode()) > MAX_PATH_BYTES:
        raise InvalidImage(f"{shown} is nested too deep or too long")
    if any(len(p.encode()) > MAX_NAME_BYTES for p in parts):
        raise InvalidImage(f"{shown} has a name over {MAX_NAME_BYTES} bytes")
    return parts


class Applier:
    """Applies the layers of one image, in order, under ``root`` (an empty directory)."""

    def __init__(self, root: str) -> None:
        self._root = root
        self._budget = Budget()

    def apply(self, blob: IO[bytes], label: str) -> str:
        """Apply one layer; returns the sha256 of its uncompressed tar (its diff id)."""
        stream = _Hashing(decompressed(blob))
        written: set[tuple[str, ...]] = set()
        root_fd = os.open(self._root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    self._member(tar, member, root_fd, written, label)
            stream.drain()
        except CORRUPT as exc:
            raise InvalidImage(f"{label}: the layer is damaged or not a tar: {exc}") from None
        finally:
            os.close(root_fd)
        return stream.digest.hexdigest()

    def _member(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, root_fd: int, written: set[tuple[str, ...]],
        label: str,
    ) -> None:  # fmt: skip
        parts = entry_path(member.name, label)
        if not parts:
            return  # the root itself ("./")
        shown = f"{label}: the entry {member.name[:200]!r}"
        self._budget.take(shown, member.size if member.isfile() else 0)
        *parents, name = parts
        parent_fd = _walk(root_fd, parents, shown, create=True)
        try:
            if name == OPAQUE:
                _empty(parent_fd, tuple(parents), written)
            elif name.startswith(WHITEOUT):
                hidden = name[len(WHITEOUT) :]
                if hidden in ("", ".", "..") or (*parents, hidden) in written:
                    return
                _remove(parent_fd, hidden)
            else:
                self._create(tar, member, root_fd, parent_fd, name, shown)
                for depth in range(1, len(parts) + 1):
                    written.add(parts[:depth])
        finally:
            os.close(parent_fd)

    def _create(
        self, tar: tarfile.TarFile, member: tarfile.TarInfo, root_fd: int, parent_fd: int, name: str,
        shown: str,
    ) -> None:  # fmt: skip
        mode = member.mode & 0o777  # no setuid, setgid or sticky bit
        existing = _lstat(parent_fd, name)
        if member.isdir() and existing is not None and stat.S_ISDIR(existing.st_mode):
            os.chmod(name, mode | 0o700, dir_fd=parent_fd, follow_symlinks=True)  # a directory we made
            return
        if member.ischr() or member.isblk():
            raise InvalidImage(f"{shown} is a device node")
        if member.isfifo():
            raise InvalidImage(f"{shown} is a FIFO")
        if not (member.isdir() or member.isfile() or member.issym() or member.islnk()):
            raise InvalidImage(f"{shown} has an unsupported type ({member.type!r})")
        if existing is not None:
            _remove(parent_fd, name)
        if member.isdir():
            os.mkdir(name, 0o700, dir_fd=parent_fd)
            os.chmod(name, mode | 0o700, dir_fd=parent_fd)
        elif member.isfile():
            _write_file(tar, member, parent_fd, name, mode, shown)
        elif member.issym():
            if "\x00" in member.linkname or len(member.linkname.encode()) > MAX_PATH_BYTES:
                raise InvalidImage(f"{shown} is a symbolic link with an unusable target")
            os.symlink(member.linkname, name, dir_fd=parent_fd)
            os.utime(name, (member.mtime, member.mtime), dir_fd=parent_fd, follow_symlinks=False)
        else:
            *source_parents, source_name = entry_path(member.linkname, shown + " links to")
            source_fd = _walk(root_fd, source_parents, shown, create=False)
            try:
                found = _lstat(source_fd, source_name)
                if found is None or not stat.S_ISREG(found.st_mode):
                    raise InvalidImage(f"{shown} is a hard link to {member.linkname[:200]!r}, not a file")
                os.link(source_name, name, src_dir_fd=source_fd, dst_dir_fd=parent_fd, follow_symlinks=False)
            finally:
                os.close(source_fd)


def _write_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int, name: str, mode: int, shown: str
) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise InvalidImage(f"{shown} cannot be read")
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=parent_fd)
    try:
        left = member.size
        while left > 0:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise InvalidImage(f"{shown} is shorter than its header says")
            os.write(fd, chunk)  # (a short write raises on a full disk: OSError)
            left -= len(chunk)
        os.fchmod(fd, mode)
        os.utime(fd, (member.mtime, member.mtime))
    finally:
        os.close(fd)


def _walk(root_fd: int, parents: list[str], shown: str, *, create: bool) -> int:
    """A descriptor of the directory at ``parents`` under the root, never through a symbolic link;
    missing directories are made (0755) when ``create``."""
    fd = os.dup(root_fd)
    try:
        for part in parents:
            found = _lstat(fd, part)
            if found is None and create:
                os.mkdir(part, 0o755, dir_fd=fd)
            elif found is None:
                raise InvalidImage(f"{shown}: {part!r} on its path does not exist")
            elif stat.S_ISLNK(found.st_mode):
                raise InvalidImage(f"{shown} passes through the symbolic link {part!r}")
            elif not stat.S_ISDIR(found.st_mode):
                raise InvalidImage(f"{shown} passes through {part!r}, which is not a directory")
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove(dir_fd: int, name: str) -> None:
    """Remove what is at ``name`` (a whole tree for a directory; nothing if there is nothing)."""
    found = _lstat(dir_fd, name)
    if found is None:
        return
    if stat.S_ISDIR(found.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _empty(dir_fd: int, path: tuple[str, ...], written: set[tuple[str, ...]]) -> None:
    """An opaque directory: remove what lower layers put in it (not what this layer did)."""
    for child in os.listdir(dir_fd):
        if (*path, child) not in written:
            _remove(dir_fd, child)


MOUNT_POINTS = ("proc", "dev", "tmp", "run/lambda", "var/rapid/usr", "var/rapid/python", "var/rapid/runtime")
"""Directories bubblewrap mounts on in an image's (read-only) root: made real, empty directories."""
MOUNT_FILES = ("etc/resolv.conf",)


def add_mount_points(root: str) -> None:
    """Make the mount points the sandbox needs, replacing whatever the image has there."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for path in MOUNT_POINTS:
            os.close(_force_directories(root_fd, path.split("/")))
        for path in MOUNT_FILES:
            *parents, name = path.split("/")
            parent_fd = _force_directories(root_fd, parents)
            try:
                found = _lstat(parent_fd, name)
                if found is None or not stat.S_ISREG(found.st_mode):
                    _remove(parent_fd, name)
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=parent_fd))
            finally:
                os.close(parent_fd)
    finally:
        os.close(root_fd)


def _force_directories(root_fd: int, parts: list[str]) -> int:
    fd = os.dup(root_fd)
    try:
        for part in parts:
            found = _lstat(fd, part)
            if found is not None and not stat.S_ISDIR(found.st_mode):
                _remove(fd, part)
                found = None
            if found is None:
                os.mkdir(part, 0o755, dir_fd=fd)
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd
