"""How an image function's sandbox differs from a zip function's: its root, its first process, its
variables. Everything else (namespaces, seccomp, cgroups, freezer, limits, the Runtime API socket
at /run/lambda) is the same sandbox (``workers.functions.sandbox``).

The image's root file system (a staged copy: ``staging``) is bound read-only at ``/``, with a
private /tmp, /proc and /dev. The image need not contain anything of Stepline's: the Runtime API
is served on the sandbox's loopback by ``image_init.py`` run by the worker's own Python, which is
bound read-only under ``/var/rapid`` (as Lambda keeps its own runtime process under /var/rapid)
and started through the host's dynamic loader with an explicit library path, so none of the
image's libraries are used by it and none of its variables (``-E``) reach it.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

from workers.functions.images.run import ImageRun

RAPID = "/var/rapid"
HOST_USR = f"{RAPID}/usr"
HOST_PYTHON = f"{RAPID}/python"
RUNTIME = f"{RAPID}/runtime"
LOADERS = ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1")


@functools.cache
def host_python() -> tuple[Path, Path, Path]:
    """(interpreter, its prefix, the dynamic loader) of the worker's Python, resolved."""
    executable = Path(sys.executable).resolve()
    prefix = Path(sys.base_prefix).resolve()
    for loader in LOADERS:
        if os.path.exists(loader):
            return executable, prefix, Path(loader).resolve()
    raise FileNotFoundError("no dynamic loader found for the image runtime's relay")


def _inside(path: Path) -> str:
    """Where a host path of the worker's Python is seen from inside an image's sandbox."""
    _, prefix, _ = host_python()
    if not prefix.is_relative_to("/usr") and path.is_relative_to(prefix):
        return f"{HOST_PYTHON}/{path.relative_to(prefix)}"
    if path.is_relative_to("/usr"):
        return f"{HOST_USR}/{path.relative_to('/usr')}"
    raise FileNotFoundError(f"{path} is neither under /usr nor under Python's prefix")


def binds(rootfs: Path, runtime_copy: Path, tmp_bytes: int) -> list[str]:
    """bubblewrap's mounts for an image: the root, the host's Python for the relay, /tmp, /proc, /dev."""
    _, prefix, _ = host_python()
    argv = ["--ro-bind", str(rootfs), "/", "--ro-bind", "/usr", HOST_USR]
    if not prefix.is_relative_to("/usr"):
        argv += ["--ro-bind", str(prefix), HOST_PYTHON]
    argv += [
        "--ro-bind", str(runtime_copy), RUNTIME,
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(tmp_bytes), "--tmpfs", "/tmp",
    ]  # fmt: skip
    return argv


def _relay() -> list[str]:
    executable, prefix, loader = host_python()
    libraries = [Path(sysconfig.get_config_var("LIBDIR") or prefix / "lib").resolve(), loader.parent]
    library_path = ":".join(dict.fromkeys(_inside(p) for p in libraries if p.exists()))
    relay = [_inside(loader), "--library-path", library_path, _inside(executable), "-E", "-s", "-S", "-B"]
    return [*relay, f"{RUNTIME}/image_init.py"]


def command(image: ImageRun, *, extensions: Sequence[str] = ()) -> list[str]:
    """The sandbox's first process: the relay, then the image's command as its child (after the
    image's extensions in /opt/extensions, when it has some)."""
    flag = ["--extensions", "/".join(extensions)] if extensions else []  # (file names: no "/" in them)
    return [*_relay(), *flag, image.working_directory, *image.command]


def spare_command() -> list[str]:
    """A spare image sandbox's first process: the relay, its imports loaded, waiting on its stdin
    for ``claim``'s message."""
    return [*_relay(), "--spare"]


def claim(image: ImageRun, variables: Mapping[str, str]) -> dict[str, object]:
    """What a claimed spare's relay reads: the command, its directory, every variable (``environment``'s)."""
    environment = dict(variables)
    return {"command": list(image.command), "workdir": image.working_directory, "environment": environment}


def has_regular_file(rootfs: Path, relative: str) -> bool:
    """Whether the image holds a regular file at ``relative``, no symbolic link on the way (a bind
    over it then lands on that file, inside the image's root)."""
    path = rootfs
    try:
        for part in Path(relative).parts:
            path = path / part
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return False
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def environment(
    image: ImageRun, own: Mapping[str, str], lambda_variables: Mapping[str, str]
) -> dict[str, str]:
    """The image's ENV, the function's variables over it, Lambda's over both; those the relay's own
    C library would act on (``HELD``) travel renamed, for the relay to restore in the command's."""
    variables = dict(image.environment)
    variables.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    variables.update(own)
    variables.update(lambda_variables)
    return {(f"{HELD_PREFIX}{k}" if held(k) else k): v for k, v in variables.items()}


HELD_PREFIX = "_RAPID_HELD_"
"""How ``image_init.py`` finds the variables to restore for the image's command."""
HELD = frozenset(
    {"GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH", "NLSPATH",
     "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR"}
)  # fmt: skip
"""Variables glibc reads as a process starts (besides ``LD_*`` and ``MALLOC_*``): an image setting one
(``LD_PRELOAD=/usr/lib/libjemalloc.so`` is common) means it for its own command, not for the relay,
the worker's Python, which would otherwise load the image's library into itself."""


def held(name: str) -> bool:
    return name.startswith(("LD_", "MALLOC_", "GLIBC_")) or name in HELD
