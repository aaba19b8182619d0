"""``stepline dev`` owns what it starts: after a kill -9 the next start finds the orphaned PostgreSQL
and Temporal of its data directory and stops them (saying so), Ctrl-C then leaves nothing running,
temporary directories go too, and a second ``stepline dev`` on a data directory in use is refused."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.shell.test_dev import Dev, private_parent

pytestmark = pytest.mark.slow


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """Not pytest's own (see ``private_parent``)."""
    path = private_parent()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A TMPDIR of the test's own: every temporary directory ``stepline dev`` makes lands here."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


@pytest.fixture
def runners(tmp_path: Path, scratch: Path) -> Iterator[list[Dev]]:
    made: list[Dev] = []
    yield made
    for dev in made:
        if dev.process is not None and dev.process.poll() is None:
            dev.stop()
    for pid in processes_using(tmp_path / "data"):  # whatever the code under test left behind
        os.kill(pid, signal.SIGKILL)


def new_dev(runners: list[Dev], tmp_path: Path, scratch: Path) -> Dev:
    runners.append(Dev(tmp_path / "data", env={"TMPDIR": str(scratch)}))
    return runners[-1]


def processes_using(data_dir: Path) -> list[int]:
    """Processes whose command line names something in ``data_dir`` (PostgreSQL, Temporal)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(data_dir).encode() in cmdline and b"shell.cli" not in cmdline:
            found.append(int(entry.name))
    return found


def start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(processes: dict[int, int | None]) -> list[int]:
    """Which of ``{pid: start time}`` still run (the same processes, not a reused pid)."""
    return [pid for pid, started in processes.items() if start_time(pid) == started]


def test_a_killed_dev_leaves_nothing_behind_after_the_next_one(
    runners: list[Dev], tmp_path: Path, scratch: Path
) -> None:
    first = new_dev(runners, tmp_path, scratch)
    first.start()
    orphans = {pid: start_time(pid) for pid in processes_using(first.data_dir)}
    assert len(orphans) >= 2, orphans  # the postmaster and the Temporal server at least
    assert first.process is not None
    first.process.kill()
    first.process.wait()
    assert alive(orphans), "kill -9 took the services with it: nothing to test"

    second = new_dev(runners, tmp_path, scratch)
    second.start()
    log = second.log()
    assert "PostgreSQL" in log and "Temporal" in log and "left running" in log, log
    deadline = time.monotonic() + 30
    while alive(orphans):
        assert time.monotonic() < deadline, f"orphans still running: {alive(orphans)}\n{log}"
        time.sleep(0.2)
    assert httpx.get(f"{second.url}/v1/functions").status_code == 200

    assert second.stop() == 0, second.log()
    assert second.services_stopped(), second.log()
    assert not processes_using(second.data_dir)
    assert not list(scratch.iterdir()), "temporary directories left behind"


def test_sigterm_removes_temporary_directories(runners: list[Dev], tmp_path: Path, scratch: Path) -> None:
    dev = new_dev(runners, tmp_path, scratch)
    dev.start()
    assert dev.stop(signal.SIGTERM) == 0, dev.log()
    assert not processes_using(dev.data_dir)
    assert not list(scratch.iterdir()), "temporary directories left behind"


def test_a_second_dev_on_the_same_data_dir_is_refused(
    runners: list[Dev], tmp_path: Path, scratch: Path
) -> None:
    first = new_dev(runners, tmp_path, scratch)
    first.start()
    second = new_dev(runners, tmp_path, scratch)
    second.start(wait=False)
    assert second.process is not None
    try:
        code = second.process.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    assert code not in (None, 0), f"a second stepline dev runs on the same data directory:\n{second.log()}"
    assert first.process is not None
    assert f"another stepline dev (pid {first.process.pid}) is using {first.data_dir}" in second.log()
    assert httpx.get(f"{first.url}/healthz").status_code == 200  # the first one is untouched
    assert first.stop() == 0
    assert first.services_stopped()
