"""``stepline dev`` on a fresh data directory: Ctrl-C mid-execution, start again, nothing is lost;
SIGTERM stops the embedded PostgreSQL and Temporal too, even mid-start."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shell.embedded import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAIT_THEN_PASS = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "Seconds": 4, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"input.$": "$", "done": True}, "End": True},
    },
}


class Dev:
    """One ``stepline dev`` process on its own ports and data directory."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        """Extra environment variables (``STEPLINE_*`` settings, ``PATH``, ``TMPDIR``)."""
        self.api_port, self.temporal_port, self.ui_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")},
            "STEPLINE_DATA_DIR": str(self.data_dir),
            "STEPLINE_API__PORT": str(self.api_port),
            "STEPLINE_TEMPORAL__UI_PORT": str(self.ui_port),
            **self.env,
        }
        command = [sys.executable, "-c", "from shell.cli import app; app()", "dev"]
        command += ["--temporal-port", str(self.temporal_port)]
        log = open(self.data_dir.parent / "dev.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not wait:
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"stepline dev did not become healthy:\n{self.log()}")

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"stepline dev did not stop on {sig.name}:\n{self.log()}") from None

    def services_stopped(self) -> bool:
        """PostgreSQL removed its pid file and nothing listens on Temporal's port any more."""
        if (self.data_dir / "postgres" / "postmaster.pid").exists():
            return False
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.temporal_port)) != 0

    def log(self) -> str:
        return (self.data_dir.parent / "dev.log").read_text(errors="replace")[-4000:]


def private_parent() -> Path:
    """A directory for a data directory, searchable by others. Not pytest's tmp_path: every pytest
    session makes /tmp/pytest-of-<user> 0700 again, which locks out the ``pgserver`` user that
    PostgreSQL runs as when ``stepline dev`` runs as root."""
    path = Path(tempfile.mkdtemp(prefix="sl-dev-"))
    path.chmod(0o711)
    return path


@pytest.fixture
def dev() -> Iterator[Dev]:
    parent = private_parent()
    runner = Dev(parent / "data")
    yield runner
    if runner.process is not None and runner.process.poll() is None:
        runner.process.kill()
        runner.process.wait()
    shutil.rmtree(parent, ignore_errors=True)


def test_restart_mid_execution_loses_nothing(dev: Dev) -> None:
    dev.start()
    created = httpx.post(
        f"{dev.url}/v1/state-machines", json={"name": "waiter", "definition": WAIT_THEN_PASS}
    )
    assert created.status_code == 201, created.text
    started = httpx.post(
        f"{dev.url}/v1/state-machines/waiter/executions", json={"input": {"n": 1}, "name": "e1"}
    )
    assert started.status_code == 201, started.text
    assert dev.stop() == 0
    assert "stepline dev: stopped" in dev.log()

    dev.start()
    assert httpx.get(f"{dev.url}/v1/state-machines/waiter").json()["definition"] == WAIT_THEN_PASS
    deadline = time.monotonic() + 60
    while (execution := httpx.get(f"{dev.url}/v1/executions/waiter:e1").json())["status"] == "RUNNING":
        assert time.monotonic() < deadline, execution
        time.sleep(0.2)
    assert (execution["status"], execution["output"]) == ("SUCCEEDED", {"input": {"n": 1}, "done": True})
    history = httpx.get(f"{dev.url}/v1/executions/waiter:e1/history").json()["events"]
    assert [e["type"] for e in history].count("WaitStateExited") == 1
    assert dev.stop() == 0
    assert dev.services_stopped()


def test_sigterm_stops_postgres_and_temporal(dev: Dev) -> None:
    """What a service manager or ``kill`` sends: everything stops, as on Ctrl-C."""
    dev.start()
    assert not dev.services_stopped()
    assert dev.stop(signal.SIGTERM) == 0
    assert "stepline dev: stopped" in dev.log()
    assert dev.services_stopped(), dev.log()


def test_sigterm_while_starting_stops_what_started(dev: Dev) -> None:
    """A SIGTERM before the API is up (PostgreSQL or Temporal still starting) leaves nothing behind."""
    dev.start(wait=False)
    assert dev.process is not None
    deadline = time.monotonic() + 60
    while not (dev.data_dir / "postgres" / "postmaster.pid").exists():
        assert time.monotonic() < deadline and dev.process.poll() is None, dev.log()
        time.sleep(0.05)
    assert dev.stop(signal.SIGTERM) == 0
    assert dev.services_stopped(), dev.log()
