"""Container-image functions end to end through /v1: import (OCI layout tar, docker save tar),
create with an ImageUri, invoke in a real sandbox, the image's configuration and the function's
overrides honoured, whiteouts applied, hostile archives refused."""

from __future__ import annotations

import asyncio
import base64
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests import image_builder as build
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The Python image as an OCI layout tar, and with two layers of whiteouts as a docker save tar."""
    folder = tmp_path_factory.mktemp("images")
    image = build.python_image()
    lower = build.layer_tar([
        build.directory("data"), build.file("data/keep.txt", "keep"), build.file("data/gone.txt", "gone"),
        build.directory("opq"), build.file("opq/old.txt", "old"),
        build.directory("etc"), build.file("etc/passwd", "image passwd\n"),
        build.symlink("hostile", "/etc/passwd"),
    ])  # fmt: skip
    upper = build.layer_tar([
        build.file("data/.wh.gone.txt", ""), build.file("opq/.wh..wh..opq", ""),
        build.file("opq/new.txt", "new"),
    ])  # fmt: skip
    layered = build.python_image([lower, upper])
    return {
        "oci": build.write_tar(build.layout_files(image, "docker.io/library/hello:v1"), folder / "oci.tar"),
        "docker": build.write_tar(build.docker_save_files(layered, "layered:v2"), folder / "docker.tar"),
    }


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": tmp_path / "data"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test", timeout=60) as c:
            yield c


async def import_archive(client: httpx.AsyncClient, path: Path, name: str | None = None) -> dict[str, Any]:
    params = {"name": name} if name else {}
    response = await client.post(
        "/v1/images", params=params, content=await asyncio.to_thread(path.read_bytes)
    )
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


async def create(client: httpx.AsyncClient, image_uri: str, **fields: object) -> dict[str, Any]:
    body = {"name": unique("img"), "packageType": "Image", "code": {"imageUri": image_uri}} | fields
    response = await client.post("/v1/functions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def invoke(client: httpx.AsyncClient, name: str, event: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/v1/functions/{name}/invocations", json=event)


async def test_an_oci_image_runs_with_its_configuration(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    image = await import_archive(client, archives["oci"])
    assert image["names"] == ["hello:v1"] and image["digest"].startswith("sha256:")
    fn = await create(client, f"{ECR}/hello:v1", environment={"SHARED": "function"})
    assert fn["packageType"] == "Image" and fn["codeSha256"] == image["digest"][7:]
    answer = await invoke(client, fn["functionName"], {
        "env": ["IMAGE_ONLY", "SHARED", "AWS_LAMBDA_FUNCTION_NAME", "PYTHONHOME"],
        "write": ["/tmp/x", "/work/x", "/x"], "paths": ["/etc/shadow", "/var/rapid/runtime/image_init.py"],
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert seen["argv"] == ["/app/runtime.py"] and seen["cwd"] == "/work"
    assert seen["env"] == {
        "IMAGE_ONLY": "from-image", "SHARED": "function", "AWS_LAMBDA_FUNCTION_NAME": fn["functionName"],
        "PYTHONHOME": None,
    }  # fmt: skip
    assert seen["wrote"] == {
        "/tmp/x": "ok",
        "/work/x": "Read-only file system",
        "/x": "Read-only file system",
    }
    assert seen["exists"] == {"/etc/shadow": False, "/var/rapid/runtime/image_init.py": True}


async def test_image_config_overrides_entry_point_command_and_directory(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    image = await import_archive(client, archives["oci"])
    overrides = {
        "entryPoint": ["/usr/bin/python3"],
        "command": ["/app/runtime.py", "more"],
        "workingDirectory": "/app",
    }
    fn = await create(client, f"hello@{image['digest']}", imageConfig=overrides)
    seen = (await invoke(client, fn["functionName"], {})).json()
    assert seen["argv"] == ["/app/runtime.py", "more"] and seen["cwd"] == "/app"


async def test_a_docker_save_image_has_its_whiteouts_applied(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    await import_archive(client, archives["docker"])
    fn = await create(client, "layered:v2")
    paths = ["/data/keep.txt", "/data/gone.txt", "/opq/old.txt", "/opq/new.txt"]
    seen = (await invoke(client, fn["functionName"], {"paths": paths, "read": ["/hostile"]})).json()
    assert seen["exists"] == {
        "/data/keep.txt": True,
        "/data/gone.txt": False,
        "/opq/old.txt": False,
        "/opq/new.txt": True,
    }
    assert seen["read"] == {"/hostile": "image passwd\n"}  # an absolute link resolves inside the image


async def test_a_hostile_archive_is_a_400_naming_the_layer_and_entry(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    hostile = build.Image([build.layer_tar([build.device("dev/mem")])])
    archive = build.write_tar(build.docker_save_files(hostile, "evil:1"), tmp_path / "evil.tar")
    response = await client.post("/v1/images", content=await asyncio.to_thread(archive.read_bytes))
    assert response.status_code == 400
    assert (
        "layer 0" in response.json()["detail"] and "'dev/mem' is a device node" in response.json()["detail"]
    )
    assert (await client.get("/v1/images/evil:1")).status_code == 404
    not_an_archive = await client.post("/v1/images", content=b"not a tar at all")
    assert not_an_archive.status_code == 400 and "not a tar" in not_an_archive.json()["detail"]


BAD_CREATES = {
    "runtime-with-image": ({"runtime": "python3.11"}, "no runtime or handler"),
    "missing-image": ({"code": {"imageUri": f"{ECR}/nothing:1"}}, "does not exist"),
    "not-a-reference": ({"code": {"imageUri": "Not A Reference"}}, "not an image reference"),
    "zip-with-image-uri": ({"packageType": "Zip"}, "needs packageType Image"),
    "image-without-uri": ({"code": {"files": {"a.py": ""}}}, "code.imageUri"),
    "image-with-layers": ({"layers": ["arn:aws:lambda:us-east-1:000000000000:layer:x:1"]}, "layers is only"),
    "image-with-a-file-system": (
        {"fileSystemConfigs": [{"Arn": "x", "LocalMountPath": "/mnt/x"}]},
        "fileSystemConfigs is only",
    ),
}


@pytest.mark.parametrize("fields, message", BAD_CREATES.values(), ids=BAD_CREATES.keys())
async def test_bad_image_functions_are_400_saying_why(
    client: httpx.AsyncClient, archives: dict[str, Path], fields: dict[str, Any], message: str
) -> None:
    await import_archive(client, archives["oci"])
    body = {"name": unique("bad"), "packageType": "Image", "code": {"imageUri": "hello:v1"}} | fields
    response = await client.post("/v1/functions", json=body)
    assert response.status_code == 400 and message in response.text, response.text


async def test_images_are_listed_and_found_by_name_or_digest(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    image = await import_archive(client, archives["oci"], "team/hello:pinned")
    assert "team/hello:pinned" in image["names"]  # (and hello:v1, if an earlier test imported it so)
    assert (await client.get(f"/v1/images/{image['digest']}")).json()["names"] == image["names"]
    assert (await client.get("/v1/images/team/hello:pinned")).json()["digest"] == image["digest"]
    assert (await client.get("/v1/images/team/hello:other")).status_code == 404
    listed = {
        i["digest"]: i for i in (await client.get("/v1/images", params={"limit": 1000})).json()["images"]
    }
    assert listed[image["digest"]]["config"]["WorkingDir"] == "/work"


async def test_loader_variables_of_the_image_reach_its_command_and_not_the_relay(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """An image's LD_PRELOAD is for its own command: the relay (the worker's Python) must not load the
    image's library. A file that is no library makes each loader that reads the variable say so."""
    extra = build.layer_tar([build.directory("lib-extra"), build.file("lib-extra/not-a-library.so", "text")])
    config = {"Env": ["PATH=/usr/bin:/bin", "LD_PRELOAD=/lib-extra/not-a-library.so", "MALLOC_ARENA_MAX=2"]}
    image = build.python_image([extra], config)
    archive = build.write_tar(build.layout_files(image, "preload:1", with_index=False), tmp_path / "p.tar")
    await import_archive(client, archive)
    fn = await create(client, "preload:1", environment={"LD_BIND_NOW": "1"})
    answer = await invoke(
        client, fn["functionName"], {"env": ["LD_PRELOAD", "MALLOC_ARENA_MAX", "LD_BIND_NOW"]}
    )
    assert answer.json()["env"] == {
        "LD_PRELOAD": "/lib-extra/not-a-library.so", "MALLOC_ARENA_MAX": "2", "LD_BIND_NOW": "1"
    }  # fmt: skip
    logs = (await client.get(f"/v1/functions/{fn['functionName']}/logs")).json()["events"]
    refusals = [e["message"] for e in logs if "cannot be preloaded" in e["message"]]
    assert len(refusals) == 1, refusals  # the command's loader's; the relay's never saw the variable


async def test_a_function_keeps_its_digest_when_the_tag_moves_and_versions_keep_theirs(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    first = await import_archive(client, archives["oci"], "moving:tag")
    fn = await create(client, "moving:tag")
    name = fn["functionName"]
    published = await client.post(f"/v1/functions/{name}/versions", json={})
    assert published.status_code in (200, 201), published.text
    second = await import_archive(client, archives["docker"], "moving:tag")  # the tag moves
    assert second["digest"] != first["digest"]
    probe = {"paths": ["/data/keep.txt"]}
    assert (await invoke(client, name, probe)).json()["exists"] == {
        "/data/keep.txt": False
    }  # still the first
    updated = await client.put(f"/v1/functions/{name}", json={"code": {"imageUri": "moving:tag"}})
    assert updated.status_code == 200 and updated.json()["codeSha256"] == second["digest"][7:]
    assert (await invoke(client, name, probe)).json()["exists"] == {"/data/keep.txt": True}
    version = await client.post(f"/v1/functions/{name}/invocations", params={"qualifier": "1"}, json=probe)
    assert version.json()["exists"] == {"/data/keep.txt": False}


async def test_provisioned_image_environments_are_initialised_before_the_first_call(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    await import_archive(client, archives["oci"])
    name = (await create(client, "hello:v1"))["functionName"]
    runtime = client._transport.app.state.stepline.function_invoker  # type: ignore[attr-defined]
    await runtime.pool.spares_ready()  # the environment its creation prepared: provisioned below
    response = await client.put(f"/v1/functions/{name}/concurrency", json={"reserved": 2, "provisioned": 1})
    assert response.status_code == 200, response.text
    assert runtime.pool.size == 1
    tail = {"X-Amz-Log-Type": "Tail"}
    answer = await client.post(f"/v1/functions/{name}/invocations", json={}, headers=tail)
    log = base64.b64decode(answer.headers["x-amz-log-result"]).decode()
    assert answer.json()["cwd"] == "/work" and "REPORT" in log and "Init Duration" not in log


async def test_creating_updating_and_publishing_prepare_the_first_cold_starts_environment(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    await import_archive(client, archives["oci"])
    name = (await create(client, "hello:v1", environment={"SHARED": "a"}))["functionName"]
    runtime = client._transport.app.state.stepline.function_invoker  # type: ignore[attr-defined]
    await runtime.pool.spares_ready()
    assert runtime.pool.prepared(name) == 1
    tail = {"X-Amz-Log-Type": "Tail"}
    first = await client.post(f"/v1/functions/{name}/invocations", json={"env": ["SHARED"]}, headers=tail)
    assert first.json()["env"] == {"SHARED": "a"} and runtime.pool.prepared_claimed == 1
    assert "Init Duration" in base64.b64decode(first.headers["x-amz-log-result"]).decode()
    updated = await client.put(f"/v1/functions/{name}", json={"environment": {"SHARED": "b"}})
    assert updated.status_code == 200, updated.text
    again = await invoke(client, name, {"env": ["SHARED"]})  # the new configuration's, prepared
    assert again.json()["env"] == {"SHARED": "b"} and runtime.pool.prepared_claimed == 2
    published = await client.post(f"/v1/functions/{name}/versions", json={})
    assert published.status_code == 201, published.text
    await runtime.pool.spares_ready()
    version = published.json()["version"]
    answer = await client.post(f"/v1/functions/{name}/invocations", params={"qualifier": version}, json={})
    assert answer.headers["x-amz-executed-version"] == version and runtime.pool.prepared_claimed == 3


@pytest.mark.skipif(shutil.which("slirp4netns") is None, reason="slirp4netns is not installed")
async def test_an_image_function_with_network_gets_slirps_resolver(
    client: httpx.AsyncClient, archives: dict[str, Path]
) -> None:
    await import_archive(client, archives["oci"])
    fn = await create(client, "hello:v1", network=True)
    answer = await invoke(client, fn["functionName"], {"read": ["/etc/resolv.conf"]})
    assert answer.status_code == 200, answer.text
    assert "nameserver 10.0.2.3" in answer.json()["read"]["/etc/resolv.conf"]
