"""Worker processes for the crash tests: a module of this repository run with ``python -m``, ready
once it prints ``ready``, SIGKILLed by the test, and killed at the end if it still runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
Spawn = Callable[[], subprocess.Popen[bytes]]


@contextmanager
def spawner(module: str, args: list[str]) -> Iterator[Spawn]:
    """A function starting ``module`` with ``args`` (returning once it is ready); leftovers killed."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        started.append(process)
        return process

    try:
        yield spawn
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL (no clean-up of any kind in the process), then reap it."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
