"""Function code, stored content-addressed under the data directory.

Every package becomes a zip (a ``files`` map is zipped deterministically), named by its SHA-256
and unpacked once into ``code/<sha256>/``, which sandboxes bind read-only at /var/task. Equal
code is stored once; nothing is ever modified in place.
"""

from __future__ import annotations

import base64
import binascii
import compileall
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
EPOCH = (1980, 1, 1, 0, 0, 0)


class InvalidCode(ValueError):
    """A package that cannot be stored; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class StoredCode:
    sha256: str
    size: int
    path: Path


def zip_files(files: Mapping[str, str]) -> bytes:
    """A deterministic zip of ``{name: text}`` (a file named ``bootstrap`` is made executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, EPOCH)
            mode = 0o755 if PurePosixPath(name).name == "bootstrap" else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def decode_zip(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidCode("code.zipFile is not valid base64") from None


class CodeStore:
    """The ``code/`` directory of the data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def put(self, data: bytes) -> StoredCode:
        """Check, store and unpack a zip; return its address (idempotent)."""
        if len(data) > MAX_ZIP_BYTES:
            raise InvalidCode(f"code: the zip is {len(data)} bytes, over the {MAX_ZIP_BYTES} byte limit")
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_dir():
            return StoredCode(sha, len(data), target)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise InvalidCode("code: not a zip archive") from None
        with archive:
            members = archive.infolist()
            _check_members(members)
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
            try:
                for info in members:
                    _extract(archive, info, staging)
                _precompile(staging)
                staging.chmod(0o755)
                os.rename(staging, target)
            except FileExistsError:
                shutil.rmtree(staging, ignore_errors=True)  # stored concurrently by another worker
            except OSError:
                if not target.is_dir():
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
                shutil.rmtree(staging, ignore_errors=True)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return StoredCode(sha, len(data), target)


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    total = 0
    for info in members:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise InvalidCode(f"code: the zip entry {info.filename!r} points outside the package")
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidCode(f"code: unzipped size {total} bytes is over the {MAX_UNZIPPED_BYTES} byte limit")


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path) -> None:
    destination = root / info.filename
    if info.is_dir():
        destination.mkdir(parents=True, exist_ok=True, mode=0o755)
        return
    destination.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    mode = (info.external_attr >> 16) & 0o777
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidCode(f"code: the zip entry {info.filename!r} is a symbolic link")
    with archive.open(info) as source, open(destination, "wb") as sink:
        shutil.copyfileobj(source, sink)
    destination.chmod(0o755 if mode & 0o111 else 0o644)


def _precompile(root: Path) -> None:
    """Compile the package's Python modules into ``__pycache__`` (named by their /var/task paths).

    Sandboxes see /var/task read-only and run Python with ``-B``, so without these every cold start
    would compile every module it imports. A module that does not compile is left as it is: INIT
    reports it as Lambda does (Runtime.UserCodeSyntaxError).
    """
    compileall.compile_dir(root, ddir="/var/task", quiet=2, workers=1)
    for compiled in root.rglob("__pycache__/*.pyc"):
        compiled.chmod(0o644)  # readable by the sandbox users whatever the worker's umask
        compiled.parent.chmod(0o755)
