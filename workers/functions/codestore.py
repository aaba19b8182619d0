"""Function code, stored content-addressed under the data directory.

Every package becomes a zip (a ``files`` map is zipped deterministically), named by its SHA-256
and unpacked once into ``code/<sha256>/``, which sandboxes bind read-only at /var/task. Equal
code is stored once; nothing is ever modified in place. Unpacking and precompiling run in a child
process (``unpack.py``), at most ``PARALLEL_UNPACKS`` at a time per process, and ``store`` awaits it
from a thread: however big the package, the service's event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import io
import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from foundation.errors import InvalidValue
from workers.functions import unpack
from workers.functions.unpack import MAX_ENTRIES, MAX_UNZIPPED_BYTES, InvalidPackage, check_name

log = logging.getLogger(__name__)

MAX_ZIP_BYTES = 50 * 1024 * 1024
EPOCH = (1980, 1, 1, 0, 0, 0)
UNPACK_TIMEOUT_SECONDS = 300.0
PARALLEL_UNPACKS = 2
_unpacking = threading.BoundedSemaphore(PARALLEL_UNPACKS)
__all__ = [
    "MAX_ENTRIES",
    "MAX_UNZIPPED_BYTES",
    "CodeStore",
    "InvalidCode",
    "StoredCode",
    "decode_zip",
    "zip_files",
]


class InvalidCode(InvalidValue):
    """A package that cannot be stored; the message says what is wrong and where."""


@dataclass(frozen=True, slots=True)
class StoredCode:
    sha256: str
    size: int
    path: Path


def zip_files(files: Mapping[str, str]) -> bytes:
    """A deterministic zip of ``{name: text}`` (a file named ``bootstrap`` is made executable)."""
    if len(files) > MAX_ENTRIES:
        raise InvalidCode(f"code.files has {len(files)} entries, over the limit of {MAX_ENTRIES}")
    for name in files:
        try:
            check_name(name, "code.files name")
        except InvalidPackage as exc:
            raise InvalidCode(str(exc)) from None
        if name.endswith("/"):
            raise InvalidCode(f"code.files name {name!r} names a directory: files only (directories follow)")
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

    async def store(self, data: bytes) -> StoredCode:
        """``put`` off the event loop (what the API calls)."""
        return await asyncio.to_thread(self.put, data)

    def put(self, data: bytes) -> StoredCode:
        """Check, store and unpack a zip; return its address (idempotent). Blocks: see ``store``."""
        if len(data) > MAX_ZIP_BYTES:
            raise InvalidCode(f"code: the zip is {len(data)} bytes, over the {MAX_ZIP_BYTES} byte limit")
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_dir():
            return StoredCode(sha, len(data), target)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        archive = staging.with_name(f"{staging.name}.zip")
        try:
            archive.write_bytes(data)
            with _unpacking:
                _unpack(archive, staging)
            staging.chmod(0o755)
            os.rename(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not target.is_dir():  # (else: stored concurrently by another worker)
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                archive.unlink()
        return StoredCode(sha, len(data), target)


def _unpack(archive: Path, staging: Path) -> None:
    """Run ``unpack.py`` on the archive; its verdict becomes ``InvalidCode`` or ``OSError``."""
    command = [sys.executable, "-I", "-S", unpack.__file__, str(archive), str(staging)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=UNPACK_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        if _said(exc.stdout, "unpacked"):
            log.warning(
                "code %s: precompiling was stopped after %.0f s", staging.name, UNPACK_TIMEOUT_SECONDS
            )
            return
        raise InvalidCode(f"code: unpacking took over {UNPACK_TIMEOUT_SECONDS:.0f} s") from None
    message = done.stdout.strip()
    if done.returncode == 2:
        raise InvalidCode(message)
    if done.returncode == 3:
        raise OSError(f"cannot store the code: {message}")
    if done.returncode != 0:
        if _said(done.stdout, "unpacked"):  # the compiler crashed on a module: INIT will compile it
            log.warning("code %s: precompiling failed (status %d)", staging.name, done.returncode)
            return
        log.error("unpacking %s failed (status %d): %s", staging.name, done.returncode, done.stderr[-2000:])
        raise OSError(f"cannot store the code: the unpacker failed (status {done.returncode})")
    if message != "unpacked":
        log.warning("code %s: %s", staging.name, message.splitlines()[-1])


def _said(output: str | bytes | None, line: str) -> bool:
    text = output.decode(errors="replace") if isinstance(output, bytes) else output or ""
    return line in text.splitlines()
