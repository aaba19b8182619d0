"""Spare sandboxes: a claimed spare is exactly the environment a normal start gives, no more."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions import sandbox
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

PROBE = """
import os, sys, time
time.sleep(0.3)
def handler(event, context):
    return {"env": dict(os.environ), "spare": "--spare" in sys.argv, "files": sorted(os.listdir("/var/task")),
            "path": sys.path, "stdin": sys.stdin.read()}
"""


async def test_a_claimed_spare_has_exactly_the_variables_of_a_normal_start(fn_settings: Settings) -> None:
    name = unique("spare")
    no_spares = fn_settings.sandbox.model_copy(update={"spare_environments": 0})
    without = fn_settings.model_copy(update={"sandbox": no_spares})
    async with FunctionService(without, config_cache_seconds=0.0, run_events=False) as normal:
        await deploy(normal, name, {"app.py": PROBE}, environment={"GREETING": "hi"}, memory_size=256)
        plain = body(await call(normal, name))
        assert normal.pool.spares == 0
    async with FunctionService(fn_settings, config_cache_seconds=0.0, run_events=False) as svc:
        await svc.pool.spares_ready()
        assert svc.pool.spares == 2
        claimed = body(await call(svc, name))
    assert claimed["spare"] and not plain["spare"]
    assert claimed["env"] == plain["env"]
    assert claimed["env"]["GREETING"] == "hi" and claimed["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert claimed["files"] == plain["files"] and claimed["path"] == plain["path"]
    assert claimed["stdin"] == plain["stdin"] == ""


async def test_a_spare_waits_with_nothing_of_stepline_or_of_any_function(service: FunctionService) -> None:
    assert service.pool.spares == 2
    for _ in range(100):  # bubblewrap execs the interpreter just after reporting the sandbox
        waiting = _spare_processes(service.pool.run_dir)
        if len(waiting) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(waiting) == 2
    for names, staged in waiting:
        assert names == {*sandbox.GENERIC_VARIABLES, "PWD"}  # as exec'd: bubblewrap adds PWD
        assert not staged  # no code until claimed


def _spare_processes(run_dir: Path) -> list[tuple[set[str], list[Path]]]:
    """The variable names of each spare's interpreter, and its staging directory's contents."""
    found = []
    for group in Path("/sys/fs/cgroup/pids/stepline").iterdir():
        staging = run_dir / f"{group.name}.task"
        if not group.is_dir() or not staging.exists():
            continue
        for pid in (group / "cgroup.procs").read_text().split():
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            if Path(program.decode()).name.startswith("python"):  # not bubblewrap around it
                raw = Path(f"/proc/{pid}/environ").read_bytes()
                names = {item.split(b"=", 1)[0].decode() for item in raw.split(b"\0") if item}
                found.append((names, list(staging.iterdir())))
    return found


async def test_init_duration_counts_the_users_init_not_the_spares_wait(service: FunctionService) -> None:
    name = await deploy(service, unique("init"), {"app.py": PROBE})
    await asyncio.sleep(1.0)  # the spare has been waiting a second: none of it is INIT
    result = await call(service, name)
    assert body(result)["spare"]
    assert result.init_duration_ms is not None and 300 <= result.init_duration_ms < 1300


async def test_functions_a_spare_cannot_serve_start_normally(service: FunctionService) -> None:
    cases: list[dict[str, Any]] = [{"environment": {"PYTHONHASHSEED": "0"}}, {"ephemeral_storage": 1024}]
    for settings in cases:
        name = await deploy(service, unique("plain"), {"app.py": PROBE}, **settings)
        assert not body(await call(service, name))["spare"], settings


HOG = """
def handler(event, context):
    chunks = [bytearray(1024 * 1024) for _ in range(event["mb"])]
    return len(chunks)
"""


async def test_a_claimed_spare_gets_the_functions_memory_limit(service: FunctionService) -> None:
    name = await deploy(service, unique("hog"), {"app.py": HOG}, memory_size=384)
    assert (await call(service, name, {"mb": 250})).payload == b"250"  # above the spare's own 128 MB
    assert service.pool.spares_claimed == 1
    result = await call(service, name, {"mb": 768})
    assert body(result)["errorType"] == "Runtime.OutOfMemory"


NODE_PROBE = """
const start = Date.now();
while (Date.now() - start < 300) {}
exports.handler = async (event, context) => ({
  env: process.env, spare: process.argv.includes("--spare"), files: require("fs").readdirSync("/var/task"),
  requestId: context.awsRequestId,
});
"""


async def test_nodejs_spares_follow_the_first_nodejs_cold_start_and_match_a_normal_start(
    service: FunctionService,
) -> None:
    """Node.js spares are kept once the pool has cold-started a Node.js function; a claimed one has
    the variables and files of a normal start. Another memory size (another heap limit on the
    command line) starts normally."""
    first = await deploy(service, unique("node"), {"index.js": NODE_PROBE}, handler="index.handler",
                         runtime="nodejs20", environment={"GREETING": "hi"})  # fmt: skip
    plain = body(await call(service, first))
    assert not plain["spare"] and service.pool.spares_claimed == 0
    await service.pool.spares_ready()
    assert service.pool.spares == 4  # two Python, two Node.js
    second = await deploy(service, unique("node"), {"index.js": NODE_PROBE}, handler="index.handler",
                          runtime="nodejs20", environment={"GREETING": "hi"})  # fmt: skip
    claimed = body(await call(service, second))
    assert claimed["spare"] and service.pool.spares_claimed == 1
    differing = {"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_LOG_GROUP_NAME"}
    assert {k: v for k, v in claimed["env"].items() if k not in differing} == {
        k: v for k, v in plain["env"].items() if k not in differing
    }
    assert claimed["env"]["GREETING"] == "hi" and claimed["files"] == plain["files"] == ["index.js"]
    assert claimed["env"]["AWS_LAMBDA_FUNCTION_NAME"] == second
    again = body(await call(service, second))  # warm now: the same environment, no spare claimed
    assert again["requestId"] != claimed["requestId"] and service.pool.spares_claimed == 1
    bigger = await deploy(service, unique("node"), {"index.js": NODE_PROBE}, handler="index.handler",
                          runtime="nodejs20", memory_size=512)  # fmt: skip
    assert not body(await call(service, bigger))["spare"]
