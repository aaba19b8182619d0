"""Concurrency limits: reserved (also across two worker processes), provisioned, the warm pool."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.errors import TooManyRequestsError
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

SLOW = """
import os, time
ENVIRONMENT = os.urandom(8).hex()
def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return ENVIRONMENT
"""

SECOND_WORKER = """
import asyncio, json, sys
from foundation.settings import Settings
from workers.functions.errors import TooManyRequestsError
from workers.functions.service import FunctionService

async def main() -> None:
    async with FunctionService(Settings(), run_events=False) as svc:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def one() -> str:
            try:
                result = await svc.invoke(sys.argv[1], b'{"seconds": 1.5}')
                return "ok" if result.function_error is None else str(result.error_type)
            except TooManyRequestsError:
                return "throttled"

        print(json.dumps(await asyncio.gather(*(one() for _ in range(3)))), flush=True)

asyncio.run(main())
"""


async def outcome(service: FunctionService, name: str, seconds: float) -> str:
    try:
        result = await call(service, name, {"seconds": seconds})
    except TooManyRequestsError:
        return "throttled"
    return "ok" if result.function_error is None else str(result.error_type)


async def reserve(service: FunctionService, name: str, reserved: int | None, provisioned: int = 0) -> None:
    async with unit_of_work(service.sessions) as session:
        await registry.set_concurrency(session, name, reserved, provisioned)
    await service.forget(name)


async def test_reserved_concurrency_holds_across_two_worker_processes(
    service: FunctionService, fn_settings: Settings
) -> None:
    name = await deploy(service, unique("slow"), {"app.py": SLOW}, timeout=10)
    await reserve(service, name, 2)
    env = os.environ | {
        "STEPLINE_DATABASE_URL": fn_settings.database.url.get_secret_value(),
        "STEPLINE_DATA_DIR": str(fn_settings.data_dir),
    }
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SECOND_WORKER, name, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert other.stdin is not None and other.stdout is not None
    try:
        assert (await asyncio.wait_for(other.stdout.readline(), 30)).strip() == b"ready"
        other.stdin.write(b"go\n")
        await other.stdin.drain()
        mine = await asyncio.gather(*(outcome(service, name, 1.5) for _ in range(3)))
        theirs = json.loads(await asyncio.wait_for(other.stdout.readline(), 30))
    finally:
        if other.returncode is None:
            other.kill()
        await other.wait()
    everything = mine + theirs
    assert everything.count("ok") == 2, everything
    assert everything.count("throttled") == 4, everything
    assert await outcome(service, name, 0) == "ok"  # the slots were given back


async def test_reserved_concurrency_caps_simultaneous_invocations(service: FunctionService) -> None:
    name = await deploy(service, unique("slow"), {"app.py": SLOW}, timeout=10)
    await reserve(service, name, 3)
    outcomes = await asyncio.gather(*(outcome(service, name, 1.0) for _ in range(5)))
    assert sorted(outcomes) == ["ok"] * 3 + ["throttled"] * 2
    await reserve(service, name, None)
    outcomes = await asyncio.gather(*(outcome(service, name, 0.5) for _ in range(5)))
    assert outcomes == ["ok"] * 5


async def test_warm_environments_are_reused_one_invocation_at_a_time(service: FunctionService) -> None:
    name = await deploy(service, unique("warm"), {"app.py": SLOW})
    first = await asyncio.gather(*(call(service, name, {"seconds": 0.3}) for _ in range(3)))
    environments = {(body(r), r.init_duration_ms is not None) for r in first}
    assert len(environments) == 3 and all(cold for _, cold in environments)
    again = [await call(service, name, {}) for _ in range(3)]
    assert all(r.init_duration_ms is None for r in again)
    assert {body(r) for r in again} <= {e for e, _ in environments}
    assert service.pool.size == 3


async def test_provisioned_concurrency_changed_elsewhere_reaches_a_running_process(
    service: FunctionService, fn_settings: Settings
) -> None:
    """Another process (here: a second runtime) follows the registry: it starts the provisioned
    environments, keeps them past the idle time, and gives them up when the count goes to 0."""
    name = await deploy(service, unique("prov"), {"app.py": SLOW})
    sandbox_settings = fn_settings.sandbox.model_copy(
        update={"provision_check_seconds": 0.2, "idle_seconds": 0.5, "spare_environments": 0}
    )
    quick = fn_settings.model_copy(update={"sandbox": sandbox_settings})
    async with FunctionService(quick, run_events=False) as other:
        assert other.pool.size == 0
        await reserve(service, name, None, provisioned=2)  # what a PUT served by another process does
        await until(lambda: other.pool.size == 2)
        await asyncio.sleep(1.5)  # three idle times: provisioned environments are not reaped
        assert other.pool.size == 2
        await reserve(service, name, None, provisioned=0)
        await until(lambda: other.pool.size == 0)


async def until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def test_provisioned_concurrency_starts_environments_before_the_first_call(
    service: FunctionService,
) -> None:
    name = await deploy(service, unique("prov"), {"app.py": SLOW})
    await reserve(service, name, 4, provisioned=2)
    await service.provision(name)
    assert service.pool.size == 2
    results = await asyncio.gather(*(call(service, name, {"seconds": 0.2}) for _ in range(2)))
    assert all(r.init_duration_ms is None for r in results)  # warm: no cold start
