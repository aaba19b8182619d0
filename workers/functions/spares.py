"""Which spare sandbox a function's cold start may claim, and what a spare of each kind starts as.

A spare is keyed by what it was started as: a runtime (``python3.11``, ``nodejs20``: interpreter
up, bootstrap loaded, an empty /var/task), or a container image's root file system
(``image:<rootfs>``: the image's root bound read-only, its relay up with its imports loaded and
waiting for the function's command, working directory and variables; the image's own command is
the function's, so it starts at the claim). A function fits a spare only if its sandbox would be
exactly the spare's but for what the claim brings.

A prepared environment goes further, for container images: an environment of one function version,
started exactly as its cold start would start one (its program running with its real variables,
INIT done, frozen, waiting on the Runtime API's /next), kept after a cold start of that version so
that its next cold start claims it (Lambda's "proactive initialization"). An image's program is the
function's own, so its spare cannot start it; a zip function's spare already runs its interpreter
and bootstrap, leaving only the handler's import to the claim. ``preparable`` and the bounds below
say which functions get one; the pool keeps at most one per function version.
"""

from __future__ import annotations

from pathlib import Path

from workers.functions import extensions_api, sandbox
from workers.functions.config import FunctionConfig
from workers.functions.images.run import ImageRun
from workers.mounts import Attachments

RUNTIMES = ("python3.11", "nodejs20")
"""Runtimes with spare sandboxes: Python's from the start, Node.js's once this pool has run one."""
IMAGE_PREFIX = "image:"
MAX_IMAGES = 4
"""Images with spares per pool (those of the first image functions it cold-starts): each keeps
``spare_environments`` relays (~10 MB each) started."""
MAX_PREPARED = 4
"""Function versions with a prepared environment per pool (one each); a fifth's takes the place of
the one prepared longest ago."""
PREPARED_MEMORY_MB = 2048
"""The memory sizes of a pool's prepared environments together stay within this (the oldest give way;
a function whose own size exceeds it gets none)."""
HOST_HEADROOM_MB = 1024
"""No environment is prepared while the host has less than its memory size and this available."""
_PENDING = ImageRun((), "/", ())
"""A spare image sandbox's command until its claim: none (the relay waits)."""


def key_of(config: FunctionConfig) -> str:
    return f"{IMAGE_PREFIX}{config.code_dir}" if config.image is not None else config.runtime


def spare_config(key: str) -> FunctionConfig:
    """What a spare sandbox of ``key`` is started with: the defaults every fitting function shares."""
    if key.startswith(IMAGE_PREFIX):
        rootfs = Path(key[len(IMAGE_PREFIX) :])
        return FunctionConfig(name="spare", runtime="", handler="", code_dir=rootfs, image=_PENDING)
    return FunctionConfig(name="spare", runtime=key, handler="", code_dir=Path("/nonexistent"))


def fits(config: FunctionConfig, attachments: Attachments) -> bool:
    """Whether a spare can become this function's environment: a sandbox exactly like its own.

    Not with attachments (mounts, proxies' variables, another user), the network, another /tmp
    size, another command line (runtime; Node.js's heap size follows the memory size), or a user
    variable the interpreter reads at start-up (``PYTHON*``, ``NODE_*``, locale); an image's
    extensions start before its command, so an image with extensions (or with an extension link
    refused: its INIT fails before any sandbox) starts normally.
    """
    if attachments.mounts or attachments.environment or attachments.run_as is not None:
        return False
    spare = spare_config(key_of(config))
    if config.network != spare.network or config.tmp_mb != spare.tmp_mb:
        return False
    if config.image is not None:
        return not extensions_api.extension_names(config) and not extensions_api.refused_extensions(config)
    return (
        config.runtime in RUNTIMES
        and sandbox.runtime_command(config, None) == sandbox.runtime_command(spare, None)
        and not config.layer_dirs  # (a spare's /opt is bound at its start: no layers in it)
        and not any(key.startswith(sandbox.STARTUP_PREFIXES) for key in config.environment)
    )


def preparable(config: FunctionConfig) -> bool:
    """Whether a function version's cold start leaves a prepared environment of it behind: a container
    image's (extensions included: they cannot use a spare at all) that can be invoked at all."""
    return (
        config.image is not None
        and config.reserved_concurrency != 0
        and config.memory_mb <= PREPARED_MEMORY_MB
    )


def host_memory_available_mb() -> int | None:
    """MemAvailable from /proc/meminfo (None where it cannot be read)."""
    try:
        with open("/proc/meminfo") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
