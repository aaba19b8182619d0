"""One scan of a file system's objects for the file-system event source, and its difference from the
last snapshot.

A file system is written by functions from inside their sandboxes, which may rename directories,
plant symbolic links and swap a directory for a link while a scan runs. So the scan walks by
descriptor, as ``workers.filesystems`` does: every directory is opened relative to its opened parent
with ``O_NOFOLLOW | O_DIRECTORY``, entries are read with ``lstat`` semantics, and nothing is ever
opened for reading its content. Objects are regular files only (a symbolic link is never an object and
never followed; a hard link is reported by its own path inside the file system, from its metadata);
a directory that turned into a link (or vanished) under the scan is absent, so its objects are
removed; one that cannot be read (permissions, too deep) is *unknown*: its objects are kept as they
were, never reported removed on a guess.

An object's key is its path under the file system's root, percent-encoded as S3 encodes keys in its
notifications (``quote_plus``, ``/`` kept), so names with newlines or bytes that are not UTF-8 travel
as plain ASCII text and are stored as such.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote_plus, unquote_to_bytes

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
MAX_DEPTH = 64
_PLAIN = re.compile(rb"[A-Za-z0-9_.~/-]*")
"""Bytes that ``quote_plus(safe="/")`` leaves as they are."""


class ObjectState(NamedTuple):
    """What is compared between scans: a change of any is an ``ObjectCreated:Put`` (a tuple: compared
    and made at C speed, a hundred thousand a scan)."""

    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """S3 notification filter rules: the object's key starts with ``prefix`` and ends with ``suffix``
    (both on the raw key, before encoding)."""

    prefix: bytes = b""
    suffix: bytes = b""

    @property
    def directory(self) -> tuple[bytes, ...]:
        """The directory the prefix lies in: the only part of the file system to walk."""
        return tuple(p for p in self.prefix.split(b"/")[:-1] if p)

    def matches(self, raw: bytes) -> bool:
        if not self.prefix and not self.suffix:
            return True
        return (
            raw.startswith(self.prefix)
            and raw.endswith(self.suffix)
            and len(raw) >= len(self.prefix) + len(self.suffix)
        )


@dataclass(slots=True)
class Scan:
    objects: dict[str, ObjectState] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    """Encoded key prefixes (``dir/``) whose content could not be read: kept as they were."""
    truncated: bool = False
    """More than ``limit`` objects: the scan stopped (no removals may be concluded from it)."""


def encode_key(raw: bytes) -> str:
    if _PLAIN.fullmatch(raw):  # the common case, without quote_plus's cost
        return raw.decode("ascii")
    return quote_plus(raw, safe="/")


def decode_key(key: str) -> bytes:
    return unquote_to_bytes(key.replace("+", " "))


def scan(root: int, rules: KeyFilter, *, limit: int, watch: Callable[[int], None] | None = None) -> Scan:
    """The objects under ``root`` (an open directory descriptor, trusted) that ``rules`` select, at
    most ``limit``; ``watch`` is called with each directory's descriptor while it is open. Depth
    first, so at most two descriptors per level are open (``MAX_DEPTH`` levels)."""
    found = Scan()
    start = _descend(root, rules.directory, watch)
    if start is None:
        if not rules.directory:
            found.unknown.append("")
        return found  # the watched directory is missing or a link: nothing is there
    try:
        _walk(start, b"/".join(rules.directory), 0, rules, limit, found, watch)
    finally:
        os.close(start)
    return found


def _descend(root: int, parts: tuple[bytes, ...], watch: Callable[[int], None] | None) -> int | None:
    """The watched directory, reached from ``root`` without following a link; None when absent.
    Each directory above it is watched too, so the watched one's creation (or its replacement) wakes
    the poller instead of waiting for the next rescan."""
    current = os.open(".", _DIRECTORY, dir_fd=root)
    for part in parts:
        if watch is not None:
            watch(current)
        if part in (b".", b".."):  # never above the file system (the API refuses these too)
            os.close(current)
            return None
        try:
            child = os.open(part, _DIRECTORY, dir_fd=current)
        except OSError:
            os.close(current)
            return None
        os.close(current)
        current = child
    return current


def _walk(
    fd: int, path: bytes, depth: int, rules: KeyFilter, limit: int, found: Scan,
    watch: Callable[[int], None] | None,
) -> None:  # fmt: skip
    prefix = path + b"/" if path else b""
    if watch is not None:
        watch(fd)
    try:
        listing = os.scandir(fd)
    except OSError:
        found.unknown.append(encode_key(prefix))
        return
    with listing:
        for entry in listing:
            raw = prefix + os.fsencode(entry.name)
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                if not rules.matches(raw):
                    continue
                if len(found.objects) >= limit:
                    found.truncated = True
                    return
                found.objects[encode_key(raw)] = ObjectState(info.st_size, info.st_mtime_ns, info.st_ino)
            elif stat.S_ISDIR(info.st_mode) and _could_hold(raw + b"/", rules.prefix):
                _enter(fd, entry.name, raw, depth + 1, rules, limit, found, watch)
                if found.truncated:
                    return


def _enter(
    parent: int, name: str, raw: bytes, depth: int, rules: KeyFilter, limit: int, found: Scan,
    watch: Callable[[int], None] | None,
) -> None:  # fmt: skip
    if depth >= MAX_DEPTH:
        found.unknown.append(encode_key(raw + b"/"))
        return
    try:
        child = os.open(name, _DIRECTORY, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            found.unknown.append(encode_key(raw + b"/"))
        return  # swapped for a link or a file, or gone: nothing of it is there
    try:
        _walk(child, raw, depth, rules, limit, found, watch)
    finally:
        os.close(child)


def _could_hold(directory: bytes, prefix: bytes) -> bool:
    """Whether keys under ``directory`` can start with ``prefix``."""
    return directory.startswith(prefix) or prefix.startswith(directory)


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    state: ObjectState | None
    """None: removed."""


def differences(before: dict[str, ObjectState], now: Scan) -> list[Change]:
    """Created or changed objects (sorted by key), then removed ones, as far as ``now`` can tell."""
    found = now.objects
    changes = [Change(k, found[k]) for k in sorted(k for k, s in found.items() if before.get(k) != s)]
    if now.truncated:
        return changes
    unknown = tuple(now.unknown)
    gone = sorted(before.keys() - found.keys())
    changes += [Change(k, None) for k in gone if not (unknown and k.startswith(unknown))]
    return changes
