"""Prepared environments of container-image functions (Lambda's proactive initialization): after a
cold start of an image function the pool keeps one more environment of that function version,
initialised and frozen; the version's next cold start (a burst's second invocation here) takes it
and reports the Init Duration its INIT took. It never serves another function, nor a changed
configuration (variables, image); it holds no concurrency slot, so reserved concurrency throttles as
before; it stays within the pool's bounds and is reaped when idle long. Real sandboxes throughout.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from tests import image_builder as build
from tests.integration.function_kit import body, call, fn_settings, requires_bwrap, service
from tests.integration.images.test_image_spares import deploy_image, digest
from workers.functions import spares as spare_rules
from workers.functions.errors import TooManyRequestsError
from workers.functions.images.store import ImageStore
from workers.functions.service import FunctionService

__all__ = ["digest", "fn_settings", "service"]
pytestmark = [requires_bwrap]
LOOK = {"env": ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "IMAGE_ONLY"]}


async def busy_while(service: FunctionService, name: str, event: dict[str, Any]) -> FunctionResult:
    """Invoke ``name`` with ``event`` while another invocation holds its warm environment (a burst:
    the second one is a cold start)."""
    holder = asyncio.create_task(call(service, name, {"sleep": 1.5}))
    try:
        for _ in range(500):  # until the holder has taken the warm environment
            if service.pool.in_use(name) or holder.done():
                break
            await asyncio.sleep(0.01)
        assert service.pool.in_use(name) == 1, "the holding invocation never started"
        return await call(service, name, event)
    finally:
        assert "argv" in body(await holder)


async def update(service: FunctionService, name: str, changes: dict[str, Any]) -> None:
    async with unit_of_work(service.sessions) as session:
        await registry.update_function(session, name, changes)


async def test_a_cold_start_takes_its_functions_prepared_environment(
    service: FunctionService, digest: str
) -> None:
    name = await deploy_image(service, digest, environment={"GREETING": "a"})
    first = await call(service, name, LOOK)
    assert body(first)["env"]["GREETING"] == "a" and first.init_duration_ms is not None
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1 and service.pool.in_use(name) == 0
    assert service.pool.prepared_claimed == 0
    second = await busy_while(service, name, LOOK)
    assert body(second)["env"] == {
        "GREETING": "a",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "IMAGE_ONLY": "from-image",
    }
    assert service.pool.prepared_claimed == 1
    assert second.init_duration_ms is not None  # its first invocation reports what its INIT took
    assert "Init Duration" in base64.b64decode(second.log_result or "").decode()
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1  # the next cold start has one again
    other = await deploy_image(service, digest, environment={"GREETING": "other"})
    seen = body(await call(service, other, LOOK))  # the same image, another function: its own start
    assert seen["env"]["AWS_LAMBDA_FUNCTION_NAME"] == other and seen["env"]["GREETING"] == "other"
    assert service.pool.prepared_claimed == 1


async def test_a_changed_configuration_never_takes_a_stale_prepared_environment(
    service: FunctionService, digest: str, tmp_path: Path
) -> None:
    name = await deploy_image(service, digest, environment={"GREETING": "a"})
    assert body(await call(service, name, LOOK))["env"]["GREETING"] == "a"
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1
    await update(service, name, {"environment": {"GREETING": "b"}})
    assert body(await call(service, name, LOOK))["env"]["GREETING"] == "b"
    assert service.pool.prepared_claimed == 0  # the stale one was shut down, not taken
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1  # one of the new configuration
    assert body(await busy_while(service, name, LOOK))["env"]["GREETING"] == "b"
    assert service.pool.prepared_claimed == 1
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1
    image = build.python_image(config={"Env": ["PATH=/usr/bin:/bin", "IMAGE_ONLY=other"]})
    files = await asyncio.to_thread(build.layout_files, image, "prepared:2")
    archive = await asyncio.to_thread(build.write_tar, files, tmp_path / "other.tar")
    other = (await asyncio.to_thread(ImageStore.beside(service.code).import_archive, archive)).digest
    await update(service, name, {"code_sha256": other[7:]})
    assert body(await call(service, name, LOOK))["env"]["IMAGE_ONLY"] == "other"
    assert service.pool.prepared_claimed == 1


async def test_a_prepared_environment_holds_no_concurrency_and_reserved_concurrency_still_throttles(
    service: FunctionService, digest: str
) -> None:
    name = await deploy_image(service, digest)
    async with unit_of_work(service.sessions) as session:
        await registry.set_concurrency(session, name, 1, 0)
    assert "env" in body(await call(service, name, LOOK))
    await service.pool.spares_ready()
    assert service.pool.prepared(name) == 1 and service.pool.in_use(name) == 0
    with pytest.raises(TooManyRequestsError):  # one invocation runs: a second one is throttled
        await busy_while(service, name, LOOK)
    assert service.pool.prepared_claimed == 0 and service.pool.prepared(name) == 1
    assert "env" in body(await call(service, name, LOOK))  # the slot is free again: warm
    async with unit_of_work(service.sessions) as session:
        await registry.set_concurrency(session, name, 0, 0)
    with pytest.raises(TooManyRequestsError):
        await call(service, name, LOOK)
    assert service.pool.prepared_claimed == 0


@pytest.fixture
async def briefly_idle(fn_settings: Settings) -> AsyncIterator[FunctionService]:
    sandbox = fn_settings.sandbox.model_copy(update={"idle_seconds": 1.0})
    settings = fn_settings.model_copy(update={"sandbox": sandbox})
    async with FunctionService(settings, config_cache_seconds=0.0) as svc:
        await svc.pool.spares_ready()
        yield svc


async def test_prepared_environments_stay_within_their_bounds_and_are_reaped_when_idle(
    briefly_idle: FunctionService, digest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = briefly_idle
    monkeypatch.setattr(spare_rules, "MAX_PREPARED", 1)
    monkeypatch.setattr(spare_rules, "PREPARED_MEMORY_MB", 200)
    large = await deploy_image(service, digest, memory_size=256)  # over the memory budget: none
    older, newer = await deploy_image(service, digest), await deploy_image(service, digest)
    for name in (large, older, newer):
        assert "env" in body(await call(service, name, LOOK))
        await service.pool.spares_ready()
    assert service.pool.prepared(large) == 0
    assert service.pool.prepared(older) == 0 and service.pool.prepared(newer) == 1  # the oldest gave way
    for _ in range(100):  # idle for idle_seconds: reaped with the idle ones
        if service.pool.prepared(newer) == 0 and service.pool.size == 0:
            break
        await asyncio.sleep(0.1)
    assert service.pool.prepared(newer) == 0 and service.pool.size == 0
