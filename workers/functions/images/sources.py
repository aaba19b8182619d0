"""Reading the files of an image archive: an OCI layout directory, or a tar (OCI layout or docker save).

Names are checked before anything is opened: no absolute path, no ``..``, no NUL. A directory's files
are opened without following a symbolic link anywhere below the archive's root; a tar's members are
read in place (a symbolic or hard link member is followed inside the tar only, as ``docker save``
writes links between layer directories).
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

MAX_METADATA_BYTES = 4 * 1024 * 1024
"""index.json, manifest.json, manifests and configurations: small documents."""


class InvalidImage(ValueError):
    """The archive is not an image Stepline can import; the message names what and where."""


class Source(Protocol):
    """The files of an image archive, by their names inside it."""

    def exists(self, name: str) -> bool: ...

    def open(self, name: str) -> IO[bytes]: ...

    def close(self) -> None: ...


def checked_name(name: str) -> str:
    """``name`` normalised (no leading ``./``); ``InvalidImage`` when it could leave the archive."""
    if "\x00" in name:
        raise InvalidImage(f"the archive names a file with a NUL character: {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidImage(f"the archive names a file outside itself: {name!r}")
    return str(path)


class DirectorySource:
    """An OCI image layout directory."""

    def __init__(self, root: Path) -> None:
        self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)

    def _open_fd(self, name: str) -> int:
        parts = PurePosixPath(checked_name(name)).parts
        fd = os.dup(self._root_fd)
        try:
            for part in parts[:-1]:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = next_fd
            found = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
        finally:
            os.close(fd)
        if not stat.S_ISREG(os.fstat(found).st_mode):
            os.close(found)
            raise InvalidImage(f"{name!r} in the image layout is not a regular file")
        return found

    def exists(self, name: str) -> bool:
        try:
            os.close(self._open_fd(name))
        except (OSError, InvalidImage):
            return False
        return True

    def open(self, name: str) -> IO[bytes]:
        try:
            return os.fdopen(self._open_fd(name), "rb")
        except OSError as exc:
            raise InvalidImage(f"the image layout has no readable file {name!r} ({exc.strerror})") from None

    def close(self) -> None:
        os.close(self._root_fd)


class TarSource:
    """A tar holding an OCI image layout, or written by ``docker save``."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115  (closed by ``close``)  the outer tar is never compressed by docker save
        except (tarfile.TarError, OSError) as exc:
            raise InvalidImage(f"not a tar archive: {exc}") from None
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            for member in self._tar:
                if member.isfile() or member.issym() or member.islnk():
                    self._members[str(PurePosixPath(member.name))] = member
        except (tarfile.TarError, OSError) as exc:
            self._tar.close()
            raise InvalidImage(f"the tar archive is damaged: {exc}") from None

    def exists(self, name: str) -> bool:
        return checked_name(name) in self._members

    def open(self, name: str) -> IO[bytes]:
        member = self._members.get(checked_name(name))
        if member is None:
            raise InvalidImage(f"the archive has no file {name!r}")
        try:
            opened = self._tar.extractfile(member)
        except (tarfile.TarError, KeyError) as exc:
            raise InvalidImage(f"{name!r} in the archive cannot be read: {exc}") from None
        if opened is None:
            raise InvalidImage(f"{name!r} in the archive is not a regular file")
        return opened

    def close(self) -> None:
        self._tar.close()


def open_source(path: Path) -> Source:
    """The archive at ``path``: a directory (OCI layout) or a tar file."""
    if path.is_dir():
        return DirectorySource(path)
    if not path.is_file():
        raise InvalidImage(f"{path} is neither a directory nor a file")
    return TarSource(path)


def read_document(source: Source, name: str) -> object:
    """A JSON document of the archive (at most ``MAX_METADATA_BYTES``)."""
    with source.open(name) as opened:
        data = opened.read(MAX_METADATA_BYTES + 1)
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidImage(f"{name!r} is over {MAX_METADATA_BYTES} bytes")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise InvalidImage(f"{name!r} is not JSON: {exc}") from None
