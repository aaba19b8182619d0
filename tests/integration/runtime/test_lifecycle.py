"""Environment lifecycle, Event invocations and metering."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.errors import InvalidParameterError, TooManyRequestsError
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

CODE = """
def ok(event, context):
    print("ran", event)
    return event
def fail(event, context):
    raise ValueError("always")
"""


def sample(name: str, function: str) -> float:
    return REGISTRY.get_sample_value(name, {"function": function}) or 0.0


async def test_metrics_count_invocations_errors_cold_starts_throttles_and_gb_seconds(
    service: FunctionService,
) -> None:
    name = await deploy(service, unique("metered"), {"app.py": CODE}, handler="app.ok", memory_size=1024)
    for i in range(3):
        await call(service, name, i)
    assert sample("stepline_function_invocations_total", name) == 3
    assert sample("stepline_function_cold_starts_total", name) == 1
    assert sample("stepline_function_errors_total", name) == 0
    assert sample("stepline_function_duration_seconds_count", name) == 3
    assert 0.003 <= sample("stepline_function_billed_gb_seconds_total", name) < 1  # >= 3 billed ms at 1 GB
    assert sample("stepline_function_concurrent_executions", name) == 0
    failing = await deploy(service, unique("failing"), {"app.py": CODE}, handler="app.fail")
    await call(service, failing, {})
    assert sample("stepline_function_errors_total", failing) == 1
    async with unit_of_work(service.sessions) as session:
        await registry.set_concurrency(session, failing, 0, 0)
    await service.forget(failing)
    with contextlib.suppress(TooManyRequestsError):
        await call(service, failing, {})
    assert sample("stepline_function_throttles_total", failing) == 1


async def test_event_invocations_are_retried_twice_then_recorded(service: FunctionService) -> None:
    name = await deploy(service, unique("event"), {"app.py": CODE}, handler="app.fail")
    queued = await call(service, name, {"try": 1}, invocation_type="Event")
    assert queued.status_code == 202
    for _ in range(100):
        async with service.sessions() as session:
            event = await registry.get_event(session, queued.request_id)
        if event is not None and event.status == "FAILED":
            break
        await asyncio.sleep(0.1)
    assert event is not None and (event.status, event.attempts, event.function_error) == (
        "FAILED",
        3,
        "ValueError",
    )
    ok = await deploy(service, unique("event"), {"app.py": CODE}, handler="app.ok")
    done = await call(service, ok, {"fine": True}, invocation_type="Event")
    for _ in range(100):
        async with service.sessions() as session:
            event = await registry.get_event(session, done.request_id)
        if event is not None and event.status == "SUCCEEDED":
            break
        await asyncio.sleep(0.1)
    assert event is not None and event.attempts == 1 and event.response == '{"fine": true}'


def sandbox_processes(run_dir: Path) -> list[int]:
    """Processes whose command line mentions the pool's socket directory (the bwrap launchers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(run_dir).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


async def test_idle_environments_are_reaped_and_stop_shuts_everything_down(fn_settings: Settings) -> None:
    settings = fn_settings.model_copy(
        update={"sandbox": fn_settings.sandbox.model_copy(update={"idle_seconds": 0.3})}
    )
    async with FunctionService(settings, config_cache_seconds=0.0) as svc:
        name = await deploy(svc, unique("idle"), {"app.py": CODE}, handler="app.ok")
        await call(svc, name, 1)
        assert svc.pool.size == 1 and sandbox_processes(svc.pool.run_dir)
        for _ in range(100):  # reaped once idle past 0.3 s
            if svc.pool.size == 0:
                break
            await asyncio.sleep(0.1)
        assert svc.pool.size == 0
        again = await call(svc, name, 2)
        assert again.init_duration_ms is not None  # a fresh environment
        await asyncio.gather(*(call(svc, name, i) for i in range(3)))
        run_dir = svc.pool.run_dir
        assert sandbox_processes(run_dir)
    assert sandbox_processes(run_dir) == []
    assert not run_dir.exists()


async def test_unusable_attachments_are_a_clear_invalid_parameter(service: FunctionService) -> None:
    name = await deploy(service, unique("attach"), {"app.py": CODE}, handler="app.ok",
                        file_system_configs=[{"fileSystem": 5}])  # fmt: skip
    with pytest.raises(InvalidParameterError, match="fileSystemConfigs"):
        await call(service, name, {})
