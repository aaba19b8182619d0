"""A whole Stepline (``stepline dev``: API, worker, function sandboxes) on a free port, against a
given database and Temporal server, for the console's browser tests and bench/console.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from shell.embedded import free_port

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (Playwright's own browser download cannot work here)."""


@contextmanager
def stepline_dev(database_url: str, temporal_address: str, token: str | None = None) -> Iterator[str]:
    """``stepline dev`` on a free port (``token``: the API requires it); yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stepline-console-") as data_dir:
        os.chmod(data_dir, 0o711)  # the sandbox users reach the code store through it
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
            "STEPLINE_DATABASE_URL": database_url,
            "STEPLINE_TEMPORAL_ADDRESS": temporal_address,
            # a queue of its own: on the session's shared Temporal, the default queue would hand this
            # worker other tests' executions (and their activities would hold up its shutdown)
            "STEPLINE_TEMPORAL__TASK_QUEUE": f"console-{port}-{os.getpid()}",
            "STEPLINE_API__PORT": str(port),
            "STEPLINE_DATA_DIR": data_dir,
            "STEPLINE_SANDBOX__SPARE_ENVIRONMENTS": "0",
            **({"STEPLINE_API__TOKEN": token} if token else {}),
        }
        log_path = Path(data_dir).parent / f"stepline-console-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", "from shell.cli import app; app()", "dev"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log_path.unlink(missing_ok=True)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"stepline dev exited:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"stepline dev did not become healthy:\n{log_path.read_text(errors='replace')[-4000:]}"
    )
