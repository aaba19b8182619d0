"""Every entry point that opens a socket or runs functions refuses an unsafe start up front.

A careless user: ``STEPLINE_API__HOST=0.0.0.0`` without a token must not serve the API to the
network from any command (``stepline api`` refused it, ``stepline dev`` did not), and a machine
without bubblewrap must not start a process that then fails every invocation with a 500.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from shell.embedded import free_port
from tests.integration.shell.test_dev import Dev, private_parent

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "from shell.cli import app; app()"]
INSTALL_HINT = "apt-get install bubblewrap"


@pytest.fixture
def make_dev() -> Iterator[Callable[[dict[str, str]], Dev]]:
    """``stepline dev`` runners on a data directory of the test's own, stopped (Ctrl-C) if still running."""
    parent = private_parent()
    made: list[Dev] = []

    def make(env: dict[str, str]) -> Dev:
        made.append(Dev(parent / "data", env=env))
        return made[-1]

    yield make
    for dev in made:
        if dev.process is not None and dev.process.poll() is None:
            dev.stop(signal.SIGINT)
    shutil.rmtree(parent, ignore_errors=True)


def _clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("STEPLINE_")}, **extra}


def _wait_refused(dev: Dev, seconds: float = 60) -> tuple[int, str]:
    """Wait for ``stepline dev`` to exit; fail if it serves the API meanwhile."""
    assert dev.process is not None
    deadline = time.monotonic() + seconds
    while dev.process.poll() is None:
        assert time.monotonic() < deadline, f"stepline dev neither served nor exited:\n{dev.log()}"
        try:
            served = httpx.get(f"{dev.url}/v1/functions", timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        raise AssertionError(f"stepline dev served GET /v1/functions ({served.status_code}), did not refuse")
    return dev.process.returncode, dev.log()


def _run_refused(command: list[str], env: dict[str, str], port: int, seconds: float = 60) -> tuple[int, str]:
    """Run a command that must exit by itself without ever serving on ``port``: (status, output)."""
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        try:
            deadline = time.monotonic() + seconds
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{command[-1]} kept running instead of refusing to start")
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                raise AssertionError(f"{command[-1]} serves on port {port} instead of refusing to start")
        finally:
            if process.poll() is None:
                process.kill()
            output = process.communicate()[0].decode(errors="replace")
    return process.returncode, output


def test_dev_refuses_every_interface_without_a_token(make_dev: Callable[[dict[str, str]], Dev]) -> None:
    dev = make_dev({"STEPLINE_API__HOST": "0.0.0.0"})
    dev.start(wait=False)
    code, log = _wait_refused(dev)
    assert code != 0, log
    assert "refusing to listen on 0.0.0.0 without a token" in log and "STEPLINE_API_TOKEN" in log, log
    assert not (dev.data_dir / "postgres").exists(), "refused only after starting PostgreSQL"


def test_dev_listens_everywhere_with_a_token_and_asks_for_it(
    make_dev: Callable[[dict[str, str]], Dev],
) -> None:
    """The same start with a token serves, and only to requests that carry it."""
    dev = make_dev({"STEPLINE_API__HOST": "0.0.0.0", "STEPLINE_API_TOKEN": "s3cret"})
    dev.start()
    assert httpx.get(f"{dev.url}/v1/functions").status_code == 401
    headers = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{dev.url}/v1/functions", headers=headers).status_code == 200
    assert dev.stop() == 0, dev.log()


def test_dev_without_bubblewrap_refuses_with_the_install_command(
    tmp_path: Path, make_dev: Callable[[dict[str, str]], Dev]
) -> None:
    """No ``bwrap`` on PATH (how the default ``bwrap_path`` is found): refused before anything starts."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    dev = make_dev({"PATH": str(empty_bin)})
    dev.start(wait=False)
    code, log = _wait_refused(dev)
    assert code != 0, log
    assert "bubblewrap" in log and INSTALL_HINT in log, log
    assert not (dev.data_dir / "postgres").exists(), "refused only after starting PostgreSQL"


def test_worker_without_bubblewrap_refuses_with_the_install_command(
    tmp_path: Path, database_url: str, temporal_address: str
) -> None:
    env = _clean_env(
        STEPLINE_DATA_DIR=str(tmp_path / "data"),
        STEPLINE_DATABASE_URL=database_url,
        STEPLINE_TEMPORAL_ADDRESS=temporal_address,
        STEPLINE_TEMPORAL__TASK_QUEUE=f"refused-{tmp_path.name}",
        STEPLINE_SANDBOX__BWRAP_PATH=str(tmp_path / "missing" / "bwrap"),
    )
    code, output = _run_refused([*CLI, "worker"], env, port=free_port(), seconds=20)
    assert code != 0, output
    assert "stepline worker:" in output and str(tmp_path / "missing" / "bwrap") in output, output
    assert INSTALL_HINT in output, output


def test_api_needs_no_bubblewrap_it_runs_no_function(
    tmp_path: Path, database_url: str, temporal_address: str
) -> None:
    """``stepline api`` hands invocations to the workers (which refuse to start without bubblewrap,
    above): it starts and serves without it (tests/integration/api/test_worker_split.py checks that
    it never starts a sandbox)."""
    port = free_port()
    env = _clean_env(
        STEPLINE_DATA_DIR=str(tmp_path / "data"),
        STEPLINE_DATABASE_URL=database_url,
        STEPLINE_TEMPORAL_ADDRESS=temporal_address,
        STEPLINE_API__PORT=str(port),
        STEPLINE_SANDBOX__BWRAP_PATH=str(tmp_path / "missing" / "bwrap"),
    )
    with subprocess.Popen(
        [*CLI, "api"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.communicate()[0].decode(errors="replace")
                assert time.monotonic() < deadline, "stepline api did not serve within 30 s"
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
        finally:
            process.kill()
            process.communicate()


def test_api_refuses_every_interface_without_a_token(
    tmp_path: Path, database_url: str, temporal_address: str
) -> None:
    port = free_port()
    env = _clean_env(
        STEPLINE_DATA_DIR=str(tmp_path / "data"),
        STEPLINE_DATABASE_URL=database_url,
        STEPLINE_TEMPORAL_ADDRESS=temporal_address,
        STEPLINE_API__HOST="0.0.0.0",
        STEPLINE_API__PORT=str(port),
    )
    code, output = _run_refused([*CLI, "api"], env, port=port, seconds=20)
    assert code != 0 and "STEPLINE_API_TOKEN" in output, output
