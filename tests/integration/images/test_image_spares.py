"""Spare sandboxes for container-image functions: after a pool's first cold start of an image it
keeps spares of it (the image's root bound, the relay waiting); a claimed one runs the claiming
function's command, directory and variables with its memory limit, exactly as a normal start
would, in a fresh /tmp; an image function a spare cannot be starts normally; past the number of
images with spares, the one least recently claimed from gives way. Prepared environments (which
claim spares too) are off here: ``test_image_prepared`` covers them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from foundation.registry import functions as registry
from foundation.registry.database import unit_of_work
from tests import image_builder as build
from tests.integration.function_kit import body, call, fn_settings, requires_bwrap, service, unique
from workers.functions import spares as spare_rules
from workers.functions.images.store import ImageStore
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]
COMMAND = ["/usr/bin/python3", "-S", "/app/runtime.py"]
LOOK = {"env": ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "IMAGE_ONLY"],
        "paths": ["/tmp/mine"], "write": ["/tmp/mine"]}  # fmt: skip


@pytest.fixture(autouse=True)
def no_prepared_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spare_rules, "MAX_PREPARED", 0)


@pytest.fixture
async def digest(service: FunctionService, tmp_path: Path) -> str:
    files = await asyncio.to_thread(build.layout_files, build.python_image(), "spares:1")
    archive = await asyncio.to_thread(build.write_tar, files, tmp_path / "image.tar")
    imported = await asyncio.to_thread(ImageStore.beside(service.code).import_archive, archive)
    return imported.digest


async def deploy_image(service: FunctionService, digest: str, **settings: Any) -> str:
    name = unique("img-spare")
    fields = registry.FunctionSettings(
        runtime="", handler="", package_type="Image", code_sha256=digest[7:], code_size=1, **settings
    )
    async with unit_of_work(service.sessions) as session:
        await registry.create_function(session, name, fields)
    return name


def without(env: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in env.items() if k not in names}


async def test_image_spares_after_the_first_cold_start_match_a_normal_start(
    service: FunctionService, digest: str
) -> None:
    first = await deploy_image(service, digest, environment={"GREETING": "a"}, memory_size=256)
    plain = body(await call(service, first, LOOK))
    assert service.pool.spares_claimed == 0  # the first cold start of the image: no spare of it yet
    await service.pool.spares_ready()
    assert service.pool.spares == 4  # two of the image besides
    second = await deploy_image(
        service, digest, environment={"GREETING": "b"}, memory_size=384,
        image_config={"Command": [*COMMAND, "spared"], "WorkingDirectory": "/app"},
    )  # fmt: skip
    claimed = body(await call(service, second, {**LOOK, "allocate_mb": 250}))
    assert "env" in claimed, claimed
    assert service.pool.spares_claimed == 1
    assert claimed["env"] == {
        "GREETING": "b", "AWS_LAMBDA_FUNCTION_NAME": second, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "384",
        "IMAGE_ONLY": "from-image",
    }  # fmt: skip
    assert without(
        plain["env"], "GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
    ) == (without(claimed["env"], "GREETING", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
    assert claimed["argv"] == ["/app/runtime.py", "spared"] and claimed["cwd"] == "/app"
    assert plain["argv"] == ["/app/runtime.py"] and plain["cwd"] == "/work"
    assert claimed["exists"] == {"/tmp/mine": False} and claimed["wrote"] == {"/tmp/mine": "ok"}  # fresh /tmp
    assert claimed["allocated"] == 250 * 1024 * 1024  # the function's 384 MB, not the spare's 128
    assert claimed["status"] == plain["status"]  # uid, capabilities, no_new_privs, seccomp: the same
    again = body(await call(service, second, LOOK))  # warm: the same sandbox, its own /tmp kept
    assert again["exists"] == {"/tmp/mine": True} and service.pool.spares_claimed == 1
    hog = body(await call(service, second, {"allocate_mb": 600}))
    assert hog["errorType"] == "Runtime.OutOfMemory", hog
    other_tmp = await deploy_image(service, digest, ephemeral_storage=1024)
    assert body(await call(service, other_tmp, LOOK))["env"]["IMAGE_ONLY"] == "from-image"
    assert service.pool.spares_claimed == 1  # another /tmp size: a normal start
    await service.pool.spares_ready()
    calling = await deploy_image(service, digest, aws_api=True)  # its AWS endpoint relayed from a spare too
    seen = body(await call(service, calling, {"env": ["AWS_ENDPOINT_URL"], "connect": [["127.0.0.1", 9002]]}))
    assert seen["env"] == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9002"}, seen
    assert seen["connect"] == {"127.0.0.1:9002": "connected"} and service.pool.spares_claimed == 2


async def test_the_stalest_image_makes_room_for_a_new_one(
    service: FunctionService, digest: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spare_rules, "MAX_IMAGES", 1)
    other_image = build.python_image(config={"Env": ["PATH=/usr/bin:/bin", "IMAGE_ONLY=other"]})
    files = await asyncio.to_thread(build.layout_files, other_image, "spares:2")
    archive = await asyncio.to_thread(build.write_tar, files, tmp_path / "other.tar")
    other = (await asyncio.to_thread(ImageStore.beside(service.code).import_archive, archive)).digest
    assert other != digest
    for image in (digest, other):  # each one's first cold start: the other's spares make room
        assert body(await call(service, await deploy_image(service, image), LOOK))["env"]["IMAGE_ONLY"]
        await service.pool.spares_ready()
        assert service.pool.spares == 4, image  # Python's two and this image's two, never more
    assert service.pool.spares_claimed == 0
    seen = body(await call(service, await deploy_image(service, other), LOOK))
    assert seen["env"]["IMAGE_ONLY"] == "other" and service.pool.spares_claimed == 1
    assert body(await call(service, await deploy_image(service, digest), LOOK))["env"]["IMAGE_ONLY"]
    assert service.pool.spares_claimed == 1  # the first image's spares were dropped: a normal start
