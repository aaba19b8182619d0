"""Layers through ``/v1`` on real sandboxes: publish, read, list, delete; up to 5 merged in order
under a read-only /opt on the runtime's paths (Python, Node.js, bin/); a deleted version keeps
working for the functions that use it; hostile zips refused as function zips are; Lambda's limits."""

from __future__ import annotations

import base64
import io
import stat
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]

APP = """
import os, shutil, subprocess
import shared, only_a
def handler(event, context):
    try:
        open("/opt/new-file", "w")
        writable = True
    except OSError:
        writable = False
    tool = shutil.which("layer-tool")
    return {"shared": shared.VALUE, "onlyA": only_a.VALUE, "optWritable": writable, "tool": tool,
            "said": subprocess.run([tool], capture_output=True, text=True).stdout.strip() if tool else None,
            "stepline": os.path.isdir("/opt/stepline/python")}
"""


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    data_dir = tmp_path / "data"
    app = create_app(settings.model_copy(update={"data_dir": data_dir}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test", timeout=120) as c:
            yield c


def zipped(entries: dict[str, bytes], *, symlink: str | None = None) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | (0o755 if name.startswith("bin/") else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        if symlink is not None:
            link = zipfile.ZipInfo(symlink)
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(link, "/etc/shadow")
    return base64.b64encode(buffer.getvalue()).decode()


async def publish(
    client: httpx.AsyncClient, name: str, files: dict[str, str], **extra: Any
) -> dict[str, Any]:
    body = {"content": {"files": files}, **extra}
    response = await client.post(f"/v1/layers/{name}/versions", json=body)
    assert response.status_code == 201, response.text
    published: dict[str, Any] = response.json()
    return published


async def create(client: httpx.AsyncClient, layers: list[str], **fields: Any) -> httpx.Response:
    body = {"name": unique("lyr"), "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": APP}}, "layers": layers, **fields}  # fmt: skip
    return await client.post("/v1/functions", json=body)


async def test_layers_merge_in_order_under_a_read_only_opt(client: httpx.AsyncClient) -> None:
    a_name, b_name = unique("a"), unique("b")
    files = {"python/shared.py": b"VALUE = 'a'\n", "python/only_a.py": b"VALUE = 'from a'\n",
             "bin/layer-tool": b"#!/bin/sh\necho tool from a\n"}  # fmt: skip
    body = {
        "content": {"zipFile": zipped(files)},
        "compatibleRuntimes": ["python3.11"],
        "description": "first",
    }
    published = await client.post(f"/v1/layers/{a_name}/versions", json=body)
    assert published.status_code == 201, published.text
    a = published.json()
    assert a["version"] == 1 and a["layerVersionArn"].endswith(f":layer:{a_name}:1")
    b = await publish(client, b_name, {"python/shared.py": "VALUE = 'b'\n"})
    created = await create(client, [a["layerVersionArn"], b["layerVersionArn"]])
    assert created.status_code == 201, created.text
    function = created.json()
    assert [layer["arn"] for layer in function["layers"]] == [a["layerVersionArn"], b["layerVersionArn"]]

    result = (await client.post(f"/v1/functions/{function['functionName']}/invocations", json={})).json()
    assert result == {"shared": "b", "onlyA": "from a", "optWritable": False, "tool": "/opt/bin/layer-tool",
                      "said": "tool from a", "stepline": True}  # fmt: skip

    second = await publish(client, a_name, {"python/shared.py": "VALUE = 'a2'\n"})
    assert second["version"] == 2  # immutable: a new version, the old one unchanged
    assert (await client.get(f"/v1/layers/{a_name}/versions/1")).json()["description"] == "first"
    listed = (await client.get(f"/v1/layers/{a_name}/versions")).json()["layerVersions"]
    assert [v["version"] for v in listed] == [2, 1]
    latest = (await client.get("/v1/layers", params={"compatibleRuntime": "python3.11"})).json()
    newest = [v["layerVersionArn"] for v in latest["layerVersions"] if v["layerName"] == a_name]
    assert newest == [a["layerVersionArn"]]  # the newest that is compatible: version 2 names no runtime

    assert (await client.delete(f"/v1/layers/{a_name}/versions/1")).status_code == 204
    assert (await client.get(f"/v1/layers/{a_name}/versions/1")).status_code == 404
    name = function["functionName"]
    changed = await client.put(f"/v1/functions/{name}", json={"memorySize": 256})  # a new environment
    assert changed.status_code == 200
    again = (await client.post(f"/v1/functions/{name}/invocations", json={})).json()
    assert again["shared"] == "b" and again["onlyA"] == "from a"  # the deleted version still runs
    refused = await create(client, [a["layerVersionArn"]])
    assert refused.status_code == 400 and "does not exist" in refused.json()["detail"]


async def test_node_modules_in_a_layer(client: httpx.AsyncClient) -> None:
    layer = await publish(
        client, unique("node"), {"nodejs/node_modules/greet/index.js": "module.exports = () => 'hi';"}
    )
    body = {"name": unique("nodefn"), "runtime": "nodejs20", "handler": "index.handler",
            "code": {"files": {"index.js": "exports.handler = async () => require('greet')();"}},
            "layers": [layer["layerVersionArn"]]}  # fmt: skip
    assert (await client.post("/v1/functions", json=body)).status_code == 201
    assert (await client.post(f"/v1/functions/{body['name']}/invocations", json={})).json() == "hi"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (zipped({"python/ok.py": b""}, symlink="python/link"), "symbolic link"),
        (zipped({"../escape.py": b"x"}), "outside the package"),
        (zipped({"python/bomb.bin": b"\0" * (251 * 1024 * 1024)}), "over the 262144000 byte limit"),
        ("not base64!", "not valid base64"),
    ],
    ids=["symlink", "traversal", "zip-bomb", "not-base64"],
)
async def test_hostile_layer_zips_are_refused(client: httpx.AsyncClient, content: str, says: str) -> None:
    name = unique("bad")
    response = await client.post(f"/v1/layers/{name}/versions", json={"content": {"zipFile": content}})
    assert response.status_code == 400 and says in response.json()["detail"], response.text
    assert (await client.get(f"/v1/layers/{name}/versions")).json()["layerVersions"] == []


async def test_limits(client: httpx.AsyncClient) -> None:
    arns = [(await publish(client, unique("l"), {"python/x.py": ""}))["layerVersionArn"] for _ in range(6)]
    too_many = await create(client, arns)
    assert too_many.status_code == 400 and "more than 5 layers" in too_many.json()["detail"]
    huge = {"content": {"zipFile": zipped({"big.bin": b"\0" * (130 * 1024 * 1024)})}}
    big = [(await client.post(f"/v1/layers/{unique('big')}/versions", json=huge)).json() for _ in range(2)]
    name = unique("big")
    body = {"name": name, "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": ""}}, "layers": [b["layerVersionArn"] for b in big]}  # fmt: skip
    over = await client.post("/v1/functions", json=body)
    assert (
        over.status_code == 400 and "exceeds the maximum allowed size of 262144000" in over.json()["detail"]
    )
    assert (await client.get(f"/v1/functions/{name}")).status_code == 404  # nothing half-created
    bad_name = await client.post("/v1/layers/no%20spaces/versions", json={"content": {"files": {"a": ""}}})
    assert bad_name.status_code == 400
