"""Host paths that tell nothing, for what sandboxes bind from the worker's own files.

A sandbox sees the host path of every bind's source: ``/proc/self/mountinfo`` shows it (as the path
within its file system), and bubblewrap, the sandbox's PID 1, holds its arguments in memory that the
sandbox may read. So the runtime files (from the worker's checkout) and each function's code (from
the data directory) are bound from copies in the pool's run directory, a private temporary
directory with a random name: ``runtime/`` and ``libraries/`` are copied once per run directory, and
a function's code is hard-linked (copied across file systems) into ``code-<digest of its path>/``
the first time a sandbox binds it. Code directories never change once stored (they are named by
their content), so a copy stays right. The pool removes a code copy with the last environment that
binds it (``discard``), except a container image's root file system (linked the same way, a
thousand files or more: 15-30 ms), kept for the next cold start; the rest goes with the run directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path


def copy_of(source: Path, run_dir: Path, name: str) -> Path:
    """``run_dir/name``, a copy of ``source`` (the worker's own files: small) made once."""
    return _copied(source, run_dir / name, shutil.copy2)


def linked_modules(sources: Sequence[Path], run_dir: Path, name: str) -> Path:
    """``run_dir/name``, hard links (copies across file systems) of Python packages and modules from
    the worker's own environment (the AWS SDK: thousands of files, so call it from a thread), made
    once, whole or not at all."""

    def fill(partial: Path) -> None:
        for source in sources:
            if source.is_dir():
                shutil.copytree(source, partial / source.name, copy_function=link_or_copy, symlinks=True)
            else:
                link_or_copy(str(source), str(partial / source.name))
        partial.chmod(0o755)

    return built_once(run_dir / name, fill)


def code_dir(run_dir: Path, source: Path) -> Path:
    """A function's code: already in the run directory (a spare's staging directory), or linked there."""
    target = code_path(run_dir, source)
    return target if target == source else _copied(source, target, link_or_copy)


def code_path(run_dir: Path, source: Path) -> Path:
    """Where ``code_dir`` puts (or finds) the code of ``source``."""
    if source.is_relative_to(run_dir):
        return source
    digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:24]
    return run_dir / f"code-{digest}"


def discard(copy: Path) -> Path | None:
    """Take a code copy out of use at once (renamed: the next sandbox binding that code links it anew);
    returns what to delete (in a thread: it may hold 20,000 links), or None if there was nothing."""
    trash = Path(tempfile.mkdtemp(prefix=f".{copy.name}.", dir=copy.parent))
    try:
        copy.rename(trash / copy.name)
    except OSError:
        trash.rmdir()
        return None
    return trash


def remove_later(directory: Path) -> None:
    """Take ``directory`` away at once (renamed aside, as ``discard`` does) and delete it in a thread
    of its own: a run directory holds the AWS SDK's few thousand hard links, whose unlinking (each a
    link count on an inode shared with every other run directory) takes 0.4-2.5 s. Not a daemon
    thread: the process finishes the deletion before it exits. Deleted here when it cannot be
    renamed."""
    trash = discard(directory)
    if trash is None:
        shutil.rmtree(directory, ignore_errors=True)
        return
    removal = threading.Thread(
        target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True}, name="stepline-rm"
    )
    removal.start()


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _copied(source: Path, target: Path, copy: Callable[[str, str], object]) -> Path:
    """``target``, a copy of ``source`` made once."""

    def fill(partial: Path) -> None:
        shutil.copytree(source, partial, copy_function=copy, symlinks=True, dirs_exist_ok=True)
        partial.chmod(source.stat().st_mode & 0o7777)

    return built_once(target, fill)


def built_once(target: Path, fill: Callable[[Path], None]) -> Path:
    """``target``, built once, whole or not at all: filled aside, then renamed; sandboxes starting at
    the same time may each build one: the first rename wins."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fill(partial)
        partial.rename(target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
