"""Nothing runs in an environment between its invocations, as in Lambda: the sandbox is frozen
(cgroup freezer) from the end of one invocation to the start of the next.

The attack: a function leaves a detached process behind; without the freezer it runs unbilled while
the environment sits idle, and what it prints lands in the next invocation's log.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions import cgroups
from workers.functions.cgroups import Freezer
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

BACKGROUND = r"""
import os, time

def handler(event, context):
    if event["do"] == "start":
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:  # detached: a grandchild in its own session, reparented to init
                n = 0
                while True:
                    n += 1
                    with open("/tmp/ticks", "a") as f:
                        f.write("x")
                    os.write(1, b"tick %d\n" % n)
                    time.sleep(0.02)
            os._exit(0)
        os.wait()
        return "started"
    try:
        return os.path.getsize("/tmp/ticks")
    except FileNotFoundError:
        return 0
"""


def ticks_logged(log_result: str | None) -> int:
    lines = base64.b64decode(log_result or "").decode().splitlines()
    return sum(line.startswith("tick ") for line in lines)


async def test_a_detached_process_does_not_run_between_invocations(service: FunctionService) -> None:
    name = await deploy(service, unique("bg"), {"app.py": BACKGROUND}, timeout=5)
    assert body(await call(service, name, {"do": "start"})) == "started"
    before = await call(service, name, {"do": "count"})
    await asyncio.sleep(1.0)  # idle: about 50 ticks if the process ran
    after = await call(service, name, {"do": "count"})
    assert after.init_duration_ms is None  # the same, warm environment
    assert body(after) - body(before) < 10
    assert ticks_logged(after.log_result) < 10  # nothing written while idle reaches the next log


async def test_what_it_prints_during_an_invocation_is_in_its_log(service: FunctionService) -> None:
    slow = BACKGROUND.replace("    try:\n", "    time.sleep(0.3)\n    try:\n")
    name = await deploy(service, unique("bg"), {"app.py": slow}, timeout=5)
    assert body(await call(service, name, {"do": "start"})) == "started"
    await asyncio.sleep(0.5)
    busy = await call(service, name, {"do": "count"})  # 0.3 s running: about 15 ticks, printed meanwhile
    assert 5 <= ticks_logged(busy.log_result) <= 25, base64.b64decode(busy.log_result or "").decode()


async def test_a_frozen_environment_shuts_down_at_once(service: FunctionService) -> None:
    name = await deploy(service, unique("bg"), {"app.py": BACKGROUND}, timeout=5)
    await call(service, name, {"do": "start"})
    size = service.pool.size
    started = time.monotonic()
    await service.pool.retire(name)  # kills the frozen sandbox, then waits for its processes to exit
    assert time.monotonic() - started < 2.0
    assert service.pool.size == size - 1


def _freezer_available() -> bool:
    """cgroup v2 (``cgroup.freeze`` in every group) or v1's freezer controller, writable by the worker."""
    root = Path("/sys/fs/cgroup")
    v1 = root / "freezer"
    return os.geteuid() == 0 and ((root / "cgroup.controllers").exists() or v1.is_dir())


pytestmark.append(pytest.mark.skipif(not _freezer_available(), reason="no cgroup freezer to write"))


@pytest.mark.parametrize("version", [1, 2])
def test_a_frozen_group_runs_nothing_until_thawed(version: int, tmp_path: Path) -> None:
    """Both freezers, on whichever hierarchy this machine has (v2 alone, or v1 beside a v2 mount)."""
    root = _hierarchy(version)
    if root is None:
        pytest.skip(f"no writable cgroup v{version} freezer here")
    group = root / f"{os.getpid()}-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    counter = tmp_path / "count"
    loop = f"import time\nwhile True:\n    open({str(counter)!r}, 'a').write('x')\n    time.sleep(0.005)"
    process = subprocess.Popen([sys.executable, "-S", "-c", loop])  # one process: the group empties with it
    try:
        (group / "cgroup.procs").write_text(str(process.pid))
        freezer = Freezer(group, version)
        time.sleep(0.1)
        freezer.freeze()
        deadline = time.monotonic() + 5
        while not freezer.frozen():
            assert time.monotonic() < deadline, "never frozen"
            time.sleep(0.001)
        size = counter.stat().st_size
        time.sleep(0.3)
        assert counter.stat().st_size == size  # nothing ran
        freezer.thaw()
        time.sleep(0.3)
        assert counter.stat().st_size > size
        assert not freezer.frozen()
        freezer.close()
    finally:
        process.kill()
        process.wait()
        group.rmdir()


def _hierarchy(version: int) -> Path | None:
    root = Path("/sys/fs/cgroup")
    if version == 2:
        found = root if (root / "cgroup.controllers").exists() else root / "unified"
        return found if (found / "cgroup.controllers").exists() and os.access(found, os.W_OK) else None
    found = root / "freezer"
    return found if found.is_dir() and os.access(found, os.W_OK) else None


def test_a_crashed_workers_frozen_sandbox_is_killed_at_the_next_start(tmp_path: Path) -> None:
    """A worker killed outright leaves its sandboxes frozen (a v1-frozen process does not even die of
    SIGKILL until thawed); the next worker's ``remove_stale`` kills them and removes their groups."""
    driver = cgroups.detect("stepline")
    if driver is None or not driver.can_freeze:
        pytest.skip("no writable cgroup freezer here")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid no worker has any more
    group = driver.create(f"{gone.pid}-{uuid.uuid4().hex[:8]}-0", 64 * 1024 * 1024, 16)
    left = subprocess.Popen([sys.executable, "-S", "-c", "import time\nwhile True: time.sleep(0.01)"])
    try:
        group.add(left.pid)
        assert group.freezer is not None
        group.freezer.freeze()
        left.kill()  # as its parent's death would (bubblewrap's --die-with-parent)
        time.sleep(0.2)
        assert left.poll() is None or driver.version == 2  # v1: frozen, not dead
        driver.remove_stale()
        assert left.wait(timeout=5) == -9
        assert not group.memory.exists() and not group.pids.exists()
        assert not group.freezer.directory.exists()
    finally:
        group.kill_all()  # (thaws: before waiting)
        left.kill()
        left.wait()
        group.remove()
