"""A function learns nothing of the worker from inside its sandbox: not the worker's environment
(``STEPLINE_API_TOKEN``, ``STEPLINE_SECRET_KEY``), not the data directory, not the checkout.

The attack: PID 1 in the sandbox is bubblewrap's init, which a function may read in /proc (same
user, same namespace): its ``environ`` was the worker's, its ``cmdline`` and memory held every bind
source, and ``mountinfo`` shows each bind's host path. The probe reads every /proc entry of every
process it can see, the memory of the others, and its own environment, in each way a sandbox starts
(a claimed spare, a cold start, root mapped into the namespace instead of an unprivileged user).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import workers
from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, unique
from workers.functions.service import FunctionService

__all__ = ["fn_settings"]
pytestmark = [requires_bwrap]

PROBE = r"""
import os

def scan(event, context):
    needles = [n.encode() for n in event["needles"]]
    found = {}

    def check(where, data):
        hits = [n.decode() for n in needles if n in data]
        if hits:
            found[where] = hits

    me = str(os.getpid())
    pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
    for pid in [*pids, "self"]:
        for name in ("environ", "cmdline", "mountinfo", "mounts", "maps", "cgroup", "status", "stat"):
            check(f"{pid}/{name}", read(f"/proc/{pid}/{name}"))
        for name in ("cwd", "root", "exe"):
            check(f"{pid}/{name}", link(f"/proc/{pid}/{name}"))
        for fd in listdir(f"/proc/{pid}/fd"):
            check(f"{pid}/fd/{fd}", link(f"/proc/{pid}/fd/{fd}"))
        if pid not in (me, "self"):  # this process holds the needles themselves
            check(f"{pid}/mem", memory(pid))
    check("os.environ", "\n".join(f"{k}={v}" for k, v in os.environ.items()).encode())
    return {
        "found": found, "pids": pids, "pid1_environ": read("/proc/1/environ").decode(),
        "pid1_cmdline": read("/proc/1/cmdline").decode().split("\0"),
    }

def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""

def link(path):
    try:
        return os.readlink(path).encode()
    except OSError:
        return b""

def listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []

def memory(pid):
    chunks = []
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for line in maps:
                span, perms = line.split()[:2]
                if not perms.startswith("r"):
                    continue
                start, end = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(start)
                    chunks.append(mem.read(end - start))
                except (OSError, ValueError, OverflowError):
                    pass
    except OSError:
        pass
    return b"".join(chunks)
"""
CHECKOUT = Path(workers.__file__).resolve().parents[1]


@pytest.fixture
def worker_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The secrets a production worker holds in its environment (after its settings were built)."""
    secrets = {"STEPLINE_API_TOKEN": f"t-{uuid.uuid4().hex}", "STEPLINE_SECRET_KEY": f"k-{uuid.uuid4().hex}"}
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    return secrets


@pytest.fixture
async def worker(fn_settings: Settings, worker_secrets: dict[str, str]) -> AsyncIterator[FunctionService]:
    async with FunctionService(fn_settings, config_cache_seconds=0.0, run_events=False) as svc:
        await svc.pool.spares_ready()  # spares started with the secrets in the worker's environment
        yield svc


async def scan(service: FunctionService, secrets: dict[str, str], **settings: Any) -> dict[str, object]:
    name = await deploy(service, unique("scan"), {"app.py": PROBE}, handler="app.scan", **settings)
    needles = [*secrets, *secrets.values(), str(service.settings.data_dir.resolve()), str(CHECKOUT)]
    result = await call(service, name, {"needles": needles})
    assert result.function_error is None, result.payload
    found: dict[str, object] = body(result)
    return found


def assert_nothing_leaks(found: dict[str, object]) -> None:
    assert found["found"] == {}
    assert found["pid1_environ"] == ""
    pid1 = found["pid1_cmdline"]
    assert isinstance(pid1, list) and pid1[1] == "--args", pid1  # bubblewrap's options come from a descriptor
    shown = pid1[3 : pid1.index("--")]  # only the Runtime API socket's bind, from the worker's run directory
    assert shown[::3] == ["--ro-bind"] and shown[2::3] == ["/run/lambda"], pid1


async def test_a_claimed_spare_sees_no_secret_and_no_host_path(
    worker: FunctionService, worker_secrets: dict[str, str]
) -> None:
    claimed = worker.pool.spares_claimed
    found = await scan(worker, worker_secrets)
    assert worker.pool.spares_claimed == claimed + 1
    assert worker.unprivileged
    assert_nothing_leaks(found)


async def test_a_cold_started_sandbox_sees_no_secret_and_no_host_path(
    worker: FunctionService, worker_secrets: dict[str, str]
) -> None:
    claimed = worker.pool.spares_claimed
    found = await scan(worker, worker_secrets, environment={"PYTHONHASHSEED": "0"})  # no spare fits
    assert worker.pool.spares_claimed == claimed
    assert_nothing_leaks(found)


async def test_root_mapped_sandboxes_see_no_secret_and_no_host_path(
    fn_settings: Settings, worker_secrets: dict[str, str], tmp_path: Path
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    settings = fn_settings.model_copy(update={"data_dir": private / "data"})
    async with FunctionService(settings, config_cache_seconds=0.0, run_events=False) as svc:
        assert not svc.unprivileged
        await svc.pool.spares_ready()
        assert_nothing_leaks(await scan(svc, worker_secrets))
        assert_nothing_leaks(await scan(svc, worker_secrets, environment={"PYTHONHASHSEED": "0"}))


async def test_a_code_copy_goes_with_the_last_environment_binding_it(worker: FunctionService) -> None:
    code = {"app.py": PROBE}
    name = await deploy(worker, unique("copy"), code, handler="app.scan", environment={"PYTHONHASHSEED": "0"})
    other = await deploy(worker, unique("cp"), code, handler="app.scan", environment={"PYTHONHASHSEED": "1"})
    for function in (name, other):  # the same code, two functions, cold started (no spare fits)
        assert (await call(worker, function, {"needles": []})).function_error is None
    copies = list(worker.pool.run_dir.glob("code-*"))
    assert len(copies) == 1 and (copies[0] / "app.py").read_text() == PROBE
    await worker.pool.retire(name)
    assert copies[0].is_dir()  # still bound by the other function's environment
    await worker.pool.retire(other)
    assert list(worker.pool.run_dir.glob("code-*")) == []
    assert list(worker.pool.run_dir.glob(".code-*")) == []
