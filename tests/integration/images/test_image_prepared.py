"""Prepared environments of container-image functions (Lambda's proactive initialization): after a
cold start of an image function the pool keeps one more environment of that function version,
initialised and frozen; the version's next cold start (a burst's second invocation here) takes it
and reports the Init Duration its INIT took. It never serves another function, nor a changed
configuration (variables, image); it holds no concurrency slot, so reserved concurrency throttles as
before; it stays within the pool's bounds and is reaped when idle long. A deployment (the API's
notice after CreateFunction, an update, PublishVersion) prepares one before the first invocation,
which waits for it if it is still starting. Real sandboxes throughout.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from api.runtime.directory import WorkerDirectory
from api.runtime.remote import RemoteRuntime
from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from foundation.settings import Settings
from statemachine import FunctionResult
from tests import image_builder as build
from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from tests.integration.images.test_image_spares import deploy_image, digest
from workers.endpoint import wire
from workers.endpoint.local import LocalRuntime
from workers.endpoint.server import serve_endpoint
from workers.functions import spares as spare_rules
from workers.functions.errors import TooManyRequestsError
from workers.functions.images.store import ImageStore
from workers.functions.service import FunctionService

__all__ = ["digest", "fn_settings", "service"]
pytestmark = [requires_bwrap]
LOOK = {"env": ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "IMAGE_ONLY"]}
PREPARED_IDLE_SECONDS = 8.0
"""(``briefly_idle``) longer than its ``idle_seconds``, 1 s, by more than the warm ones' reaping takes."""


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
    sandbox = fn_settings.sandbox.model_copy(
        update={"idle_seconds": 1.0, "prepared_idle_seconds": PREPARED_IDLE_SECONDS}
    )
    settings = fn_settings.model_copy(update={"sandbox": sandbox})
    async with FunctionService(settings, config_cache_seconds=0.0) as svc:
        await svc.pool.spares_ready()
        yield svc


async def test_prepared_environments_stay_within_their_bounds_outlive_idle_ones_and_are_reaped(
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
    names = (large, older, newer)
    for _ in range(100):  # after idle_seconds the warm environments are reaped, the prepared one kept
        if not any(service.pool.idle(name) for name in names):
            break
        await asyncio.sleep(0.1)
    assert not any(service.pool.idle(name) for name in names) and service.pool.prepared(newer) == 1
    after_a_quiet_spell = await call(service, newer, LOOK)  # a cold start: it takes the prepared one
    assert service.pool.prepared_claimed == 1 and after_a_quiet_spell.init_duration_ms is not None
    await service.pool.spares_ready()
    assert service.pool.prepared(newer) == 1  # another one for the next cold start
    for _ in range(int(PREPARED_IDLE_SECONDS * 30)):  # unclaimed for prepared_idle_seconds: reaped
        if service.pool.prepared(newer) == 0 and service.pool.idle(newer) == 0:
            break
        await asyncio.sleep(0.1)
    assert service.pool.prepared(newer) == 0 and service.pool.idle(newer) == 0


async def test_a_deployment_prepares_the_environment_its_first_cold_start_takes(
    service: FunctionService, digest: str
) -> None:
    name = await deploy_image(service, digest, environment={"GREETING": "a"})
    await service.prepare(name)  # what the API asks after CreateFunction: it returns once prepared
    assert service.pool.prepared(name) == 1 and service.pool.in_use(name) == 0
    first = await call(service, name, LOOK)
    assert service.pool.prepared_claimed == 1  # the first invocation started nothing
    assert body(first)["env"]["GREETING"] == "a" and body(first)["env"]["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert first.init_duration_ms is not None  # still a cold start: it reports the INIT it took

    await update(service, name, {"environment": {"GREETING": "b"}})
    await service.forget(name, retire=True)  # what the API asks after UpdateFunctionConfiguration
    assert service.pool.prepare(await service.resolve(name, None)) is not None  # started, not awaited
    assert service.pool.prepared(name) == 0  # being started: the cold start below waits for it
    second = await call(service, name, LOOK)
    assert body(second)["env"]["GREETING"] == "b" and service.pool.prepared_claimed == 2

    async with unit_of_work(service.sessions) as session:
        version = str((await registry.publish_version(session, name, None)).version)
    await service.prepare(name, version)  # PublishVersion prepares the new version
    await service.pool.spares_ready()
    third = await call(service, name, LOOK, qualifier=version)
    assert third.executed_version == version and service.pool.prepared_claimed == 3
    assert body(third)["env"]["GREETING"] == "b"


async def test_a_preparation_under_way_for_an_older_configuration_is_never_served(
    service: FunctionService, digest: str
) -> None:
    name = await deploy_image(service, digest, environment={"GREETING": "a"})
    service.pool.prepare(await service.resolve(name, None))  # still starting when it changes
    await update(service, name, {"environment": {"GREETING": "b"}})
    await service.forget(name, retire=True)
    await service.prepare(name)
    assert body(await call(service, name, LOOK))["env"]["GREETING"] == "b"
    await service.pool.spares_ready()
    assert service.pool.prepared(name) <= 1  # (at most the one its cold start left behind)
    assert body(await busy_while(service, name, LOOK))["env"]["GREETING"] == "b"


async def test_only_image_functions_that_exist_are_prepared(service: FunctionService, digest: str) -> None:
    zipped = await deploy(service, unique("zip"), {"app.py": "def handler(event, context):\n    return 1\n"})
    await service.prepare(zipped)  # a zip function's cold start claims a spare runtime instead
    await service.prepare("no-such-function")  # deleted meanwhile: nothing, no error
    await service.pool.spares_ready()
    assert service.pool.prepared(zipped) == 0 and service.pool.size == 0


async def test_an_api_process_asks_the_worker_its_invocations_go_to_to_prepare(
    service: FunctionService, digest: str, fn_settings: Settings
) -> None:
    name = await deploy_image(service, digest)
    async with serve_endpoint(fn_settings, LocalRuntime(service), service.sessions):
        directory = WorkerDirectory(service.sessions)
        try:
            await directory.refresh()
            runtime = RemoteRuntime(directory, wire.endpoint_token(fn_settings), service.code)
            await runtime.prepare(name)  # as ``stepline api`` does after CreateFunction
            await service.pool.spares_ready()
            assert service.pool.prepared(name) == 1
            assert "env" in json.loads((await runtime.invoke(name, json.dumps(LOOK).encode())).payload)
            assert service.pool.prepared_claimed == 1
        finally:
            directory.close()


async def test_a_deployment_never_displaces_another_functions_prepared_environment(
    service: FunctionService, digest: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spare_rules, "MAX_PREPARED", 1)
    used = await deploy_image(service, digest)
    assert "env" in body(await call(service, used, LOOK))
    await service.pool.spares_ready()
    assert service.pool.prepared(used) == 1
    for _ in range(3):  # deploying in a loop: the pool's one prepared environment stays the used one's
        deployed = await deploy_image(service, digest)
        await service.prepare(deployed)
        await service.pool.spares_ready()
        assert service.pool.prepared(deployed) == 0 and service.pool.prepared(used) == 1
    assert "env" in body(await call(service, deployed, LOOK))  # a cold start of it is used: it may
    await service.pool.spares_ready()
    assert service.pool.prepared(deployed) == 1 and service.pool.prepared(used) == 0
