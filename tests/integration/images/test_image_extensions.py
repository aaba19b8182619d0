"""External extensions inside a container image (``/opt/extensions``, as Lambda runs them from an
image): the test extension written against AWS's Extensions and Telemetry APIs registers before the
image's runtime starts, gets each INVOKE, receives telemetry at ``sandbox.localdomain``, and its
output reaches the function's log; an extension that dies ends the environment with
``Extension.Crash``. Real sandboxes, the image built here from the host's Python."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from tests import image_builder as build
from tests.integration.extensions.extension_kit import PYTHON_EXTENSION
from tests.integration.function_kit import requires_bwrap
from tests.integration.images.test_image_functions import client, create, import_archive, invoke

pytestmark = [requires_bwrap]
__all__ = ["client"]
CRASHER = "#!/usr/bin/python3 -S\nimport sys\nsys.exit(3)\n"


def image_with(extensions: dict[str, str], path: Path, name: str) -> Path:
    layer = build.layer_tar([
        build.directory("opt"), build.directory("opt/extensions"),
        *(build.file(f"opt/extensions/{n}", text, 0o755) for n, text in extensions.items()),
        build.file("opt/extensions/not-executable", "data"),
        build.symlink("opt/extensions/linked", "/usr/bin/python3"),  # a link is no extension
        build.directory("etc"), build.file("etc/hosts", "127.0.0.1 localhost\n"),
    ])  # fmt: skip
    return build.write_tar(build.layout_files(build.python_image([layer]), name), path)


async def test_an_images_extension_registers_gets_invokes_and_telemetry(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    recorder = PYTHON_EXTENSION.format(python="/usr/bin/python3")
    archive = await asyncio.to_thread(image_with, {"recorder": recorder}, tmp_path / "x.tar", "ext:v1")
    await import_archive(client, archive)
    fn = await create(client, "ext:v1", timeout=30)  # (a loaded CI machine: INIT and telemetry take time)
    name = fn["functionName"]
    files = ["/tmp/registered.json", "/tmp/events.jsonl"]
    first = await invoke(client, name, {"echo": 1})
    assert first.status_code == 200 and "echo" in first.json(), (first.text, first.headers)
    answer = (await invoke(client, name, {"read": files})).json()
    assert "read" in answer, answer
    seen = answer["read"]
    assert json.loads(seen["/tmp/registered.json"])["functionName"] == name
    events = [json.loads(line) for line in seen["/tmp/events.jsonl"].splitlines()]
    assert events and events[0]["eventType"] == "INVOKE" and events[0]["invokedFunctionArn"].endswith(name)
    wanted = {"platform.initStart", "platform.start", "platform.report", "function"}
    kinds: set[str] = set()
    for _ in range(30):  # telemetry comes in batches, while the sandbox runs (thawed), as Lambda's:
        answer = (await invoke(client, name, {"read": ["/tmp/telemetry.jsonl"]})).json()
        if "read" not in answer:  # no batch delivered yet: the file does not exist
            assert answer.get("errorType") == "FileNotFoundError", answer
            continue
        kinds = {json.loads(line)["type"] for line in answer["read"]["/tmp/telemetry.jsonl"].splitlines()}
        if wanted <= kinds:
            break
    assert wanted <= kinds, kinds
    logs = (await client.get(f"/v1/functions/{name}/logs")).json()["events"]
    assert any("recorder got INVOKE" in e["message"] for e in logs), logs


async def test_an_images_extension_that_exits_is_an_extension_crash(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    archive = await asyncio.to_thread(image_with, {"crasher": CRASHER}, tmp_path / "c.tar", "crash:v1")
    await import_archive(client, archive)
    fn = await create(client, "crash:v1", timeout=5)
    answer = await invoke(client, fn["functionName"], {})
    assert answer.headers.get("x-amz-function-error") == "Unhandled", answer.text
    assert answer.json()["errorType"].startswith("Extension."), answer.text
