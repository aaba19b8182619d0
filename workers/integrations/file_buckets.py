"""Stepline file systems as S3 buckets, for the calls a Distributed Map's ItemReader and ResultWriter
make (``getObject``, ``putObject``, ``listObjectsV2``) when no endpoint is configured for ``s3``.

The ``Bucket`` names a file system (``/v1/file-systems``), the ``Key`` a path inside it. Functions
can write into a file system, so nothing is looked up by path: every component is opened from its
parent's descriptor without following links (``O_NOFOLLOW``), and ``.``/``..``/empty components are
refused; a key can reach only regular files inside the file system.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from foundation.registry import resources
from foundation.registry.database import SessionMaker
from statemachine import JSON, StatesError
from workers.filesystems import file_system_path, open_file_system

MAX_OBJECT_BYTES: Final = 1_900_000
"""A read object crosses Temporal as an activity result (limit 2 MB): the answer's JSON text, sent
as a JSON string, so the object's quotes and newlines are escaped twice."""
MAX_KEYS: Final = 1000
MAX_WALKED: Final = 200_000
"""Entries a listing looks at before it gives up (functions can fill a file system with files)."""
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _error(code: str, message: str) -> StatesError:
    return StatesError(f"S3.{code}", message)


def _parts(key: Any) -> list[str]:
    if not isinstance(key, str) or not key:
        raise _error("InvalidRequest", "Key must be non-empty text")
    parts = key.split("/")
    if any(part in ("", ".", "..") or "\0" in part for part in parts):
        raise _error("InvalidRequest", f"Key {key!r} must not hold empty, '.' or '..' segments")
    return parts


class FileBuckets:
    """S3 calls served from the file systems in the registry."""

    def __init__(self, data_dir: Path, sessions: SessionMaker) -> None:
        self._data_dir = data_dir
        self._sessions = sessions

    async def call(self, action: str, parameters: dict[str, Any], binary: bool = False) -> JSON:
        """The S3 answer, as the aws-sdk integration would give it; raises ``StatesError``.
        ``binary``: a read object's ``Body`` as base64 (``ServiceCall.binary_body``)."""
        bucket = parameters.get("Bucket")
        if not isinstance(bucket, str):
            raise _error("InvalidRequest", "Bucket must be text")
        async with self._sessions() as session:
            try:
                row = await resources.get_file_system(session, bucket)
            except resources.ResourceNotFound:
                raise _error(
                    "NoSuchBucket",
                    f"No file system is named '{bucket}' and no endpoint is configured for the service "
                    "'s3': create the file system (POST /v1/file-systems) or set an s3 endpoint "
                    "(PUT /v1/service-endpoints/s3)",
                ) from None
        root = file_system_path(self._data_dir, row.name, row.host_path)
        work = {"getObject": _get, "putObject": _put, "listObjectsV2": _list}.get(action)
        if work is None:
            raise StatesError(
                "States.TaskFailed",
                f"s3:{action} is not served by Stepline file systems (getObject, putObject, listObjectsV2 "
                "are); configure an s3 endpoint for it",
            )
        if binary and work is _get:
            return await asyncio.to_thread(_get, root, parameters, True)
        return await asyncio.to_thread(work, root, parameters)


@contextlib.contextmanager
def _directory(root: Path, parts: list[str], *, create: bool) -> Iterator[int]:
    """A descriptor of the directory ``parts`` names under ``root`` (created when ``create``)."""
    lookup = open_file_system(root)
    try:
        fd = os.open(".", _DIR, dir_fd=lookup)
    finally:
        os.close(lookup)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR, dir_fd=fd)
            except (FileNotFoundError, NotADirectoryError, OSError):
                raise _error("NoSuchKey", "The specified key does not exist.") from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _get(root: Path, parameters: dict[str, Any], binary: bool = False) -> dict[str, Any]:
    *folders, name = _parts(parameters.get("Key"))
    with _directory(root, folders, create=False) as parent:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent)
        except OSError:
            raise _error("NoSuchKey", "The specified key does not exist.") from None
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _error("NoSuchKey", "The specified key does not exist.")
            if info.st_size > MAX_OBJECT_BYTES:
                raise _error("EntityTooLarge", f"The object is larger than {MAX_OBJECT_BYTES} bytes.")
            data = file.read(MAX_OBJECT_BYTES + 1)
    if binary:
        body = base64.b64encode(data).decode()
        if len(body) > MAX_OBJECT_BYTES:
            raise _error("EntityTooLarge", f"The object is larger than {MAX_OBJECT_BYTES} bytes as base64.")
        return {"Body": body, "ContentLength": len(data)}
    try:
        body = data.decode()
    except UnicodeDecodeError:
        raise _error("InvalidObjectState", "The object is not UTF-8 text.") from None
    if len(json.dumps(json.dumps(body))) > MAX_OBJECT_BYTES:  # the result text, itself a JSON string
        raise _error("EntityTooLarge", f"The object is larger than {MAX_OBJECT_BYTES} bytes as JSON text.")
    return {"Body": body, "ContentLength": len(data)}


def _put(root: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    *folders, name = _parts(parameters.get("Key"))
    body = parameters.get("Body", "")
    data = body.encode() if isinstance(body, str) else b""
    with _directory(root, folders, create=True) as parent:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(name, flags, 0o644, dir_fd=parent)
        except OSError as exc:
            raise _error("InvalidRequest", f"Cannot write the key: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise _error("InvalidRequest", "The key names something other than a file.")
            file.write(data)
    return {}


def _list(root: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    prefix = parameters.get("Prefix", "")
    after = parameters.get("ContinuationToken") or parameters.get("StartAfter") or ""
    if not isinstance(prefix, str) or not isinstance(after, str):
        raise _error("InvalidRequest", "Prefix and ContinuationToken must be text")
    keys: list[tuple[str, int]] = []
    with _directory(root, [], create=False) as top:
        _walk(top, "", keys)
    chosen = sorted((k, size) for k, size in keys if k.startswith(prefix) and k > after)
    page = chosen[:MAX_KEYS]
    answer: dict[str, Any] = {
        "Contents": [{"Key": key, "Size": size} for key, size in page],
        "IsTruncated": len(chosen) > MAX_KEYS,
        "KeyCount": len(page),
    }
    if len(chosen) > MAX_KEYS:
        answer["NextContinuationToken"] = page[-1][0]
    return answer


def _walk(
    fd: int, base: str, keys: list[tuple[str, int]], depth: int = 0, seen: list[int] | None = None
) -> None:
    """Regular files under ``fd``, never through a link, at most 32 levels down and ``MAX_WALKED``
    entries (files and directories) in all."""
    seen = seen if seen is not None else [0]
    if depth > 32:
        return
    for name in os.listdir(fd):
        seen[0] += 1
        if seen[0] > MAX_WALKED:
            raise _error("InvalidRequest", f"The file system holds more than {MAX_WALKED} entries to list.")
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            keys.append((base + name, info.st_size))
        elif stat.S_ISDIR(info.st_mode):
            try:
                child = os.open(name, _DIR, dir_fd=fd)
            except OSError:
                continue
            try:
                _walk(child, f"{base}{name}/", keys, depth + 1, seen)
            finally:
                os.close(child)
