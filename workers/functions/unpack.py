"""Unpack one function package into a staging directory: check every entry, extract, precompile.

``CodeStore.put`` runs this file as a child process (``python -I -S unpack.py ZIP DIRECTORY``), so
that the work, which is proportional to a tenant's package (100,000 entries, 5,000 modules to
compile), never holds the service's event loop or its GIL, and a crash of the compiler on a hostile
module ends only the child. Only the standard library is used. The limits are Lambda's where it has
one (250 MB unzipped) and ours otherwise (entry count, name and path lengths, depth), each error
naming the entry (never a host path).

Exit status: 0 unpacked (stdout's first line ``unpacked``, written before precompiling starts);
2 the package is invalid (stdout: the message); 3 the host failed, e.g. its disk is full (stdout:
the reason).
"""

from __future__ import annotations

import compileall
import errno
import os
import resource
import stat
import sys
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MAX_ENTRIES = 20_000
MAX_NAME_PART_BYTES = 255
MAX_PATH_BYTES = 1024
MAX_DEPTH = 64
COMPILE_SECONDS = 120.0
"""Modules left uncompiled after this long are compiled at import (slower cold starts, still correct)."""
CHILD_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
ENTRY_ERRNOS = frozenset(
    {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP, errno.EINVAL}
)
CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)
"""What ``zipfile`` raises on a damaged, encrypted or unsupported entry."""


class InvalidPackage(ValueError):
    """The package cannot be stored; the message names the entry."""


def shown(name: str) -> str:
    """An entry name as error messages show it (long ones shortened)."""
    if len(name) > 120:
        name = f"{name[:60]}...{name[-40:]}"
    return repr(name)


def check_name(name: str, what: str = "the zip entry") -> PurePosixPath:
    """The path an entry name stands for inside /var/task; ``InvalidPackage`` if it cannot be one."""
    label = f"code: {what} {shown(name)}"
    if "\x00" in name:
        raise InvalidPackage(f"{label} contains a NUL character")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise InvalidPackage(f"{label} points outside the package")
    if not path.parts:
        raise InvalidPackage(f"{label} names no file")
    if len(path.parts) > MAX_DEPTH:
        raise InvalidPackage(
            f"{label} is nested {len(path.parts)} levels deep, over the limit of {MAX_DEPTH}"
        )
    if len(str(path).encode()) > MAX_PATH_BYTES:
        raise InvalidPackage(f"{label} is over the {MAX_PATH_BYTES} byte path limit")
    for part in path.parts:
        if len(part.encode()) > MAX_NAME_PART_BYTES:
            raise InvalidPackage(f"{label} has a name over {MAX_NAME_PART_BYTES} bytes ({shown(part)})")
    return path


def declared_entries(zip_path: str) -> int | None:
    """The entry count the end record declares, read before ``ZipFile`` parses every entry (a 50 MB
    zip can declare a million); None when it cannot be read (``ZipFile`` then says what is wrong)."""
    try:
        with open(zip_path, "rb") as archive:
            end = zipfile._EndRecData(archive)  # type: ignore[attr-defined]  # (private, stable since 2.x)
        return None if end is None else int(end[zipfile._ECD_ENTRIES_TOTAL])  # type: ignore[attr-defined]
    except (AttributeError, IndexError, TypeError, ValueError, OSError):
        return None


def check_entries(members: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Every entry's path, once checked together: count, sizes, types, names that collide."""
    if len(members) > MAX_ENTRIES:
        raise InvalidPackage(f"code: the zip has {len(members)} entries, over the limit of {MAX_ENTRIES}")
    checked: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    files: dict[PurePosixPath, str] = {}
    directories: dict[PurePosixPath, str] = {}
    total = 0
    for info in members:
        path = check_name(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise InvalidPackage(f"code: the zip entry {shown(info.filename)} is a symbolic link")
        if info.is_dir():
            directories.setdefault(path, info.filename)
        else:
            if path in files:
                raise InvalidPackage(f"code: the zip has two entries for {shown(str(path))}")
            files[path] = info.filename
            total += info.file_size
        for parent in path.parents:
            if parent != PurePosixPath("."):
                directories.setdefault(parent, info.filename)
        checked.append((info, path))
    for path, name in files.items():
        if path in directories:
            raise InvalidPackage(
                f"code: the zip entry {shown(name)} is a file, and {shown(directories[path])} needs it to be "
                "a directory"
            )
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidPackage(f"code: unzipped size {total} bytes is over the {MAX_UNZIPPED_BYTES} byte limit")
    return checked


def extract(
    archive: zipfile.ZipFile, checked: list[tuple[zipfile.ZipInfo, PurePosixPath]], root: Path
) -> None:
    """Write the checked entries under ``root`` (regular files 0644, or 0755 when executable)."""
    for info, path in checked:
        destination = root.joinpath(*path.parts)
        try:
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
            fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as sink, archive.open(info) as source:
                copy_entry(source, sink, info)
            os.chmod(destination, mode)  # (whatever the umask)
        except InvalidPackage:
            raise
        except CORRUPT as exc:
            raise InvalidPackage(
                f"code: the zip entry {shown(info.filename)} is damaged or unsupported: {exc}"
            ) from None
        except OSError as exc:
            if exc.errno in ENTRY_ERRNOS:
                raise InvalidPackage(
                    f"code: the zip entry {shown(info.filename)} cannot be unpacked: {exc.strerror}"
                ) from None
            raise


def copy_entry(source: IO[bytes], sink: IO[bytes], info: zipfile.ZipInfo) -> None:
    """Copy one entry, never more bytes than its header declares (what the size limit counted)."""
    written = 0
    while chunk := source.read(1024 * 1024):
        written += len(chunk)
        if written > info.file_size:
            raise InvalidPackage(f"code: the zip entry {shown(info.filename)} is larger than its header says")
        sink.write(chunk)
    if written != info.file_size:
        raise InvalidPackage(f"code: the zip entry {shown(info.filename)} is smaller than its header says")


def precompile(root: Path, seconds: float = COMPILE_SECONDS) -> bool:
    """Compile the package's modules into ``__pycache__`` (named by their /var/task paths).

    Sandboxes see /var/task read-only and run Python with ``-B``, so without these every cold start
    would compile every module it imports. A module that does not compile is left as it is: INIT
    reports it as Lambda does (Runtime.UserCodeSyntaxError). Returns False if time ran out.
    """
    deadline = time.monotonic() + seconds
    for directory, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            if time.monotonic() > deadline:
                return False
            compileall.compile_file(
                os.path.join(directory, name), quiet=2, stripdir=str(root), prependdir="/var/task"
            )
    for directory, _, names in os.walk(root):
        if os.path.basename(directory) == "__pycache__":
            os.chmod(directory, 0o755)  # readable by the sandbox users whatever the umask
            for name in names:
                os.chmod(os.path.join(directory, name), 0o644)
    return True


def main(argv: list[str]) -> int:
    zip_path, root = argv[1], Path(argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    os.nice(10)  # the service's own work (invocations, requests) comes first
    try:
        declared = declared_entries(zip_path)
        if declared is not None and declared > MAX_ENTRIES:
            raise InvalidPackage(f"code: the zip has {declared} entries, over the limit of {MAX_ENTRIES}")
        try:
            archive = zipfile.ZipFile(zip_path)
        except (*CORRUPT, OSError):
            raise InvalidPackage("code: not a zip archive") from None
        with archive:
            extract(archive, check_entries(archive.infolist()), root)
    except InvalidPackage as exc:
        print(exc)
        return 2
    except OSError as exc:
        print(exc.strerror or type(exc).__name__)
        return 3
    print("unpacked", flush=True)
    if not precompile(root):
        print(f"precompiling stopped after {COMPILE_SECONDS:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
