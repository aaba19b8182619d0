"""External extensions inside a container image (``/opt/extensions``, as Lambda runs them from an
image): the test extension written against AWS's Extensions and Telemetry APIs registers before the
image's runtime starts, gets each INVOKE, receives telemetry at ``sandbox.localdomain``, and its
output reaches the function's log; an extension that dies ends the environment with
``Extension.Crash``; an extension may be a symbolic link to a program elsewhere in the image, and
one leading out of the image fails INIT with ``Extension.LaunchError``. Real sandboxes, the image
built here from the host's Python."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from tests import image_builder as build
from tests.integration.extensions.extension_kit import PYTHON_EXTENSION
from tests.integration.function_kit import requires_bwrap
from tests.integration.images.test_image_functions import client, create, import_archive, invoke

pytestmark = [requires_bwrap]
__all__ = ["client"]
CRASHER = "#!/usr/bin/python3 -S\nimport sys\nsys.exit(3)\n"
AGENT = """#!/usr/bin/python3 -S
import json, os, sys, urllib.request
API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(sys.argv[0])
def call(method, path, body=None, headers=None):
    request = urllib.request.Request(f"http://{API}{path}", data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as answer:
        return answer.headers
EVENTS = b'{"events": ["INVOKE"]}'
me = call("POST", "/2020-01-01/extension/register", EVENTS, {"Lambda-Extension-Name": NAME})
me = {"Lambda-Extension-Identifier": me["Lambda-Extension-Identifier"]}
with open(f"/tmp/{NAME}.json", "w") as out:
    json.dump({"argv0": sys.argv[0], "executable": os.path.realpath(sys.argv[0])}, out)
while True:
    call("GET", "/2020-01-01/extension/event/next", headers=me)
    print(NAME, "got INVOKE", flush=True)
"""
"""An extension that registers under its file name and writes where it was started from."""


def image_with(extensions: dict[str, str], path: Path, name: str) -> Path:
    layer = build.layer_tar([
        build.directory("opt"), build.directory("opt/extensions"),
        *(build.file(f"opt/extensions/{n}", text, 0o755) for n, text in extensions.items()),
        build.file("opt/extensions/not-executable", "data"),
        build.symlink("opt/extensions/linked", "not-executable"),  # a link to a non-executable: skipped
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


def image_with_links(links: dict[str, str], path: Path, name: str) -> Path:
    """The Python image with ``AGENT`` at /usr/local/lib/agent/run and ``links`` in /opt/extensions."""
    layer = build.layer_tar([
        build.directory("usr/local"), build.directory("usr/local/lib"),
        build.directory("usr/local/lib/agent"),
        build.file("usr/local/lib/agent/run", AGENT, 0o755), build.symlink("usr/local/lib/agent/hop", "run"),
        build.directory("opt"), build.directory("opt/extensions"),
        *(build.symlink(f"opt/extensions/{n}", target) for n, target in links.items()),
    ])  # fmt: skip
    return build.write_tar(build.layout_files(build.python_image([layer]), name), path)


async def test_an_images_extension_may_be_a_link_to_a_program_elsewhere_in_the_image(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    links = {"absolute": "/usr/local/lib/agent/run", "relative": "../../usr/local/lib/agent/hop"}
    archive = await asyncio.to_thread(image_with_links, links, tmp_path / "l.tar", "linked:v1")
    await import_archive(client, archive)
    fn = await create(client, "linked:v1", timeout=30)
    files = ["/tmp/absolute.json", "/tmp/relative.json"]
    answer = await invoke(client, fn["functionName"], {"read": files})
    assert answer.status_code == 200 and "read" in answer.json(), answer.text
    for name in ("absolute", "relative"):  # each ran under its own name, the program the link leads to
        started = json.loads(answer.json()["read"][f"/tmp/{name}.json"])
        assert started == {"argv0": f"/opt/extensions/{name}", "executable": "/usr/local/lib/agent/run"}
    again = await invoke(client, fn["functionName"], {"echo": 2})  # (both asked for their next event)
    assert again.json().get("echo") == 2, again.text


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("../../../../usr/local/lib/agent/run", "the link leads out of the image (above its root)"),
        ("/var/rapid/python/bin/python3", "the link leads out of the image (to /var/rapid,"),
        ("/usr/local/lib/agent/missing", "/usr/local/lib/agent/missing: no such file or directory"),
    ],
    ids=["above-the-root", "the-workers-python", "dangling"],
)
async def test_an_images_extension_link_out_of_it_is_an_extension_launch_error(
    client: httpx.AsyncClient, tmp_path: Path, target: str, reason: str
) -> None:
    links = {"escape": target, "fine": "/usr/local/lib/agent/run"}
    archive = await asyncio.to_thread(image_with_links, links, tmp_path / "e.tar", "escape:v1")
    await import_archive(client, archive)
    fn = await create(client, "escape:v1", timeout=10)
    answer = await invoke(client, fn["functionName"], {})
    assert answer.headers.get("x-amz-function-error") == "Unhandled", answer.text
    error = answer.json()
    assert error["errorType"] == "Extension.LaunchError", error
    assert (
        error["errorMessage"].startswith("Error: fork/exec /opt/extensions/escape: ")
        and reason in error["errorMessage"]
    ), error
