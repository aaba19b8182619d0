"""Layers in a sandbox: the layer versions a function uses, merged in order into one read-only /opt.

Each layer version is stored like function code (``CodeStore``: checked and unpacked by ``unpack.py``,
so zip bombs, symbolic links and paths out of the package are refused alike). A function's /opt is
built once per run directory from its layers' directories: hard links, a later layer's file
replacing an earlier one's at the same path, as Lambda extracts them in order. ``/opt/stepline``
stays Stepline's (its client libraries are bound over it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from workers.functions import staging

RESERVED = "stepline"
"""The directory of /opt that Stepline's own libraries take."""


def unzipped_size(root: Path) -> int:
    """The bytes of a stored package's files, as its zip declared them (``__pycache__`` not counted)."""
    total = 0
    for directory, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        total += sum(os.lstat(os.path.join(directory, name)).st_size for name in names)
    return total


def merged_opt(run_dir: Path, layers: Sequence[Path]) -> Path:
    """``run_dir/opt-<digest>``: the layers merged in order (made once, whole or not at all)."""
    digest = hashlib.sha256("\0".join(str(p) for p in layers).encode()).hexdigest()[:24]

    def fill(partial: Path) -> None:
        for layer in layers:
            _overlay(layer, partial)
        reserved = partial / RESERVED
        if reserved.is_dir() and not reserved.is_symlink():
            shutil.rmtree(reserved)
        elif reserved.exists():
            reserved.unlink()
        reserved.mkdir(mode=0o755)
        for directory, dirs, _ in os.walk(partial):
            for name in dirs:
                os.chmod(os.path.join(directory, name), 0o755)
        partial.chmod(0o755)

    return staging.built_once(run_dir / f"opt-{digest}", fill)


def _overlay(source: Path, target: Path) -> None:
    """Link every file of ``source`` into ``target``, replacing what is at the same path."""
    for directory, dirs, names in os.walk(source):
        relative = Path(directory).relative_to(source)
        here = target / relative
        for name in dirs:
            path = here / name
            if path.exists() and not path.is_dir():
                path.unlink()
            path.mkdir(exist_ok=True)
        for name in names:
            path = here / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()  # never write through a link into another layer's stored file
            staging.link_or_copy(os.path.join(directory, name), str(path))
