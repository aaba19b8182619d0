"""An image function's sandbox is a zip function's: an unprivileged user without capabilities under
the seccomp filter, its own PID and network namespaces (the host's services unreachable), the
memory limit and the timeout enforced, and nothing of the host's files but what the image holds.
The data directory is reachable by the sandbox users, so sandboxes run as an unprivileged host user
where the worker's Python is reachable too (``sandbox.can_drop_root``), else as root mapped to one."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests import image_builder as build
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("images")
    return build.write_tar(build.layout_files(build.python_image(), "probe:1"), folder / "probe.tar")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory the sandbox users reach."""
    found = Path(tempfile.mkdtemp(prefix="stepline-images-"))
    found.chmod(0o711)
    yield found
    shutil.rmtree(found, ignore_errors=True)


@pytest.fixture
async def client(settings: Settings, data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": data_dir}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test", timeout=60) as c:
            yield c


async def deploy(client: httpx.AsyncClient, archive: Path, **fields: object) -> str:
    data = await asyncio.to_thread(archive.read_bytes)
    assert (await client.post("/v1/images", content=data)).status_code == 201
    name = unique("probe")
    body = {"name": name, "packageType": "Image", "code": {"imageUri": "probe:1"}} | fields
    created = await client.post("/v1/functions", json=body)
    assert created.status_code == 201, created.text
    return name


async def invoke(client: httpx.AsyncClient, name: str, event: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/v1/functions/{name}/invocations", json=event)


async def test_an_image_sandbox_is_unprivileged_filtered_and_alone(
    client: httpx.AsyncClient, archive: Path
) -> None:
    name = await deploy(client, archive)
    answer = await invoke(client, name, {"connect": [["127.0.0.1", 5432], ["10.0.2.2", 5432]]})
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    status = seen["status"]
    assert status["Uid"].split()[0] != "0" and status["CapEff"] == "0" * 16
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    assert seen["connect"] == {"127.0.0.1:5432": "ConnectionRefusedError", "10.0.2.2:5432": "OSError"}
    assert len(seen["pids"]) <= 4  # bubblewrap's init, the relay, the runtime: nothing of the host


async def test_an_image_function_is_held_to_its_memory_and_its_timeout(
    client: httpx.AsyncClient, archive: Path
) -> None:
    small = await deploy(client, archive, memorySize=128, timeout=30)
    out_of_memory = await invoke(client, small, {"allocate_mb": 400})
    assert out_of_memory.json()["errorType"] == "Runtime.OutOfMemory", out_of_memory.text
    assert (await invoke(client, small, {"echo": "after"})).json()["echo"] == "after"  # a new sandbox
    quick = await deploy(client, archive, timeout=1)
    timed_out = await invoke(client, quick, {"sleep": 5})
    assert timed_out.json()["errorType"] == "Sandbox.Timedout", timed_out.text


async def test_an_images_extension_folder_is_read_without_following_its_links(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """An image whose ``/opt`` is a link to a host directory full of executables: the worker (which
    looks for extensions on the host side) must not follow it, or host file names would become the
    function's extensions; the function runs without any."""
    host = Path(tempfile.mkdtemp(prefix="stepline-host-"))
    (host / "extensions").mkdir()
    (host / "extensions" / "host-tool").write_text("#!/bin/sh\nexit 0\n")
    (host / "extensions" / "host-tool").chmod(0o755)
    try:
        layer = build.layer_tar([build.symlink("opt", str(host))])
        image = build.python_image([layer])
        path = await asyncio.to_thread(
            build.write_tar, build.layout_files(image, "probe:1"), tmp_path / "l.tar"
        )
        name = await deploy(client, path)
        answer = await client.post(f"/v1/functions/{name}/invocations", json={"echo": "ran"})
        assert answer.status_code == 200 and answer.json()["echo"] == "ran", answer.text
        assert "x-amz-function-error" not in answer.headers
    finally:
        shutil.rmtree(host, ignore_errors=True)
