"""Shutting environments down releases every Runtime API socket, whatever is interrupted and when.

A socket the worker forgets is closed by the garbage collector, with a ResourceWarning at a random
later moment; these tests look for such sockets directly, in ``/proc``, right after the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from statemachine import FunctionCall
from workers.functions import cgroups, staging
from workers.functions.config import FunctionConfig
from workers.functions.environment import Environment
from workers.functions.pool import EnvironmentPool
from workers.functions.slots import SlotTable
from workers.mounts import Attachments

pytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

CODE = """
import time
def handler(event, context):
    time.sleep(event)
    return event
"""


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="stepline-rt-"))
    path.chmod(0o711)
    yield path
    staging.remove_later(path)  # the SDK's links deleted in a thread: seconds of unlinking under load


@pytest.fixture
def config(run_dir: Path) -> FunctionConfig:
    code = run_dir / "code"
    code.mkdir()
    (code / "app.py").write_text(CODE)
    code.chmod(0o755)
    return FunctionConfig(name="sleepy", runtime="python3.11", handler="app.handler", code_dir=code)


@pytest.fixture
def spawner() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(1)
    yield executor
    executor.shutdown()


def runtime_sockets(run_dir: Path) -> list[str]:
    """This process's open sockets named by a path under ``run_dir`` (listening and accepted)."""
    names = {}
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7].startswith(f"{run_dir}/"):
            names[f"socket:[{fields[6]}]"] = fields[7]
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if (target := os.readlink(f"/proc/self/fd/{fd}")) in names:
                found.append(f"fd {fd}: {names[target]}")
    return found


def sandbox_processes(run_dir: Path) -> list[str]:
    """Live processes of sandboxes under ``run_dir`` (bubblewrap's command line names the run
    directory; its namespace's init is a fork of it)."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and str(run_dir).encode() in (proc / "cmdline").read_bytes():
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(f"pid {proc.name} ({state})")
    return found


async def sandbox_processes_after_shutdown(run_dir: Path) -> list[str]:
    """``sandbox_processes`` once killed ones had time to die."""
    for _ in range(50):
        if not (found := sandbox_processes(run_dir)):
            break
        await asyncio.sleep(0.1)
    return found


def environment(config: FunctionConfig, run_dir: Path, spawner: ThreadPoolExecutor, n: int) -> Environment:
    return Environment(config, f"env-{n}", run_dir, "bwrap", None, spawner)


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 6, 8, 12, 16, 24, 32], ids=lambda n: f"{n}-steps")
async def test_a_start_cancelled_after_any_number_of_steps_leaves_no_socket_open(
    config: FunctionConfig, run_dir: Path, spawner: ThreadPoolExecutor, steps: int
) -> None:
    env = environment(config, run_dir, spawner, steps)
    starting = asyncio.create_task(env.start(Attachments()))
    for _ in range(steps):
        await asyncio.sleep(0)
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await env.close()  # what the pool does with an environment whose start failed
    assert runtime_sockets(run_dir) == []
    assert await sandbox_processes_after_shutdown(run_dir) == []


async def test_a_cancelled_invocation_is_killed_not_left_running_for_the_next(
    config: FunctionConfig, run_dir: Path, spawner: ThreadPoolExecutor
) -> None:
    env = environment(config, run_dir, spawner, 0)
    await env.start(Attachments())
    try:
        invoking = asyncio.create_task(env.invoke(FunctionCall("f", b"30"), "r1", 60.0))
        await asyncio.sleep(0.3)
        invoking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await invoking
        assert env.dead
    finally:
        await env.close()
    assert runtime_sockets(run_dir) == []
    assert await sandbox_processes_after_shutdown(run_dir) == []


@pytest.fixture
async def pool(run_dir: Path) -> AsyncIterator[EnvironmentPool]:
    driver = cgroups.detect("stepline")
    if driver is None:
        pytest.skip("spare sandboxes need cgroups")

    async def no_attachments(config: FunctionConfig) -> Attachments:
        return Attachments()

    slots = SlotTable(run_dir / "slots", 8)
    pool = EnvironmentPool(
        run_dir=run_dir / "rt", bwrap="bwrap", cgroups=driver, slots=slots, attachments=no_attachments,
        idle_seconds=60.0, max_environments=8, spares=2,
    )  # fmt: skip
    (run_dir / "rt").mkdir()
    try:
        yield pool
    finally:
        await pool.close()
        slots.close()


@pytest.mark.parametrize("steps", [0, 1, 2, 4, 8, 16, 32], ids=lambda n: f"{n}-steps")
async def test_a_shutdown_while_spares_start_leaves_nothing_behind(
    pool: EnvironmentPool, run_dir: Path, steps: int
) -> None:
    pool.start_reaper()  # starts the spares in the background
    for _ in range(steps):
        await asyncio.sleep(0)
    await pool.close()
    assert runtime_sockets(run_dir) == []
    assert pool.size == 0 and pool.spares == 0
    assert await sandbox_processes_after_shutdown(run_dir) == []


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 8, 16], ids=lambda n: f"{n}-steps")
async def test_a_cancelled_shutdown_still_closes_every_socket(
    pool: EnvironmentPool, config: FunctionConfig, run_dir: Path, steps: int
) -> None:
    pool.start_reaper()
    await pool.spares_ready()
    await pool.invoke(config, FunctionCall("f", b"0"), "r1", 5.0)  # a claimed spare, idle, a spare starting
    closing = asyncio.create_task(pool.close())
    for _ in range(steps):
        await asyncio.sleep(0)
    closing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await closing
    await asyncio.sleep(0)  # a transport closes its socket in the callback its close schedules
    assert runtime_sockets(run_dir) == []
