"""External extensions and the Telemetry API on real sandboxes: extensions in a layer's
``extensions/`` start before the runtime, register, get INVOKE events, delay the invocation's end,
stay in the sandbox between invocations, and receive platform events and the function's logs over
HTTP inside the sandbox (Python and Node.js extensions); hostile extensions end as Lambda's
``Extension.*`` errors or time out; ``AWS_LAMBDA_EXEC_WRAPPER`` wraps the runtime."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine import FunctionCall, FunctionResult
from tests.integration.extensions.extension_kit import (
    HOSTILE_EXTENSION,
    NODE_EXTENSION,
    PYTHON_EXTENSION,
    layer_with,
)
from workers.functions import cgroups
from workers.functions.config import FunctionConfig
from workers.functions.pool import EnvironmentPool
from workers.functions.slots import SlotTable
from workers.mounts import Attachments, BindMount

pytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

APP = """
import json, os
def read(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []
def handler(event, context):
    print("function-says", event)
    return {"events": read("/tmp/events.jsonl"), "telemetry": read("/tmp/telemetry.jsonl"),
            "nodeEvents": read("/tmp/node-events.jsonl"), "nodeTelemetry": read("/tmp/node-telemetry.jsonl"),
            "registered": read("/tmp/registered.json"), "statuses": read("/tmp/statuses.json"),
            "wrapped": os.environ.get("WRAPPED")}
"""


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="stepline-ext-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def pool(work: Path) -> AsyncIterator[EnvironmentPool]:
    async def no_attachments(config: FunctionConfig) -> Attachments:
        return Attachments()

    slots = SlotTable(work / "slots", 8)
    (work / "rt").mkdir()
    pool = EnvironmentPool(
        run_dir=work / "rt", bwrap="bwrap", cgroups=cgroups.detect("stepline"), slots=slots,
        attachments=no_attachments, idle_seconds=60.0, max_environments=8,
    )  # fmt: skip
    try:
        yield pool
    finally:
        await pool.close()
        slots.close()


def function(work: Path, extensions: dict[str, str], **fields: Any) -> FunctionConfig:
    code = work / "code"
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text(APP)
    code.chmod(0o755)
    layer = layer_with(work / f"layer-{len(list(work.glob('layer-*')))}", extensions)
    return FunctionConfig(
        name="ext", runtime="python3.11", handler="app.handler", code_dir=code, layer_dirs=(layer,), **fields
    )


async def invoke(
    pool: EnvironmentPool, config: FunctionConfig, payload: object, seconds: float = 10
) -> FunctionResult:
    result, _, _ = await pool.invoke(
        config, FunctionCall("ext", json.dumps(payload).encode()), f"r-{payload}", seconds
    )
    return result


def body(result: FunctionResult) -> dict[str, Any]:
    assert result.error_type is None, result.payload
    parsed: dict[str, Any] = json.loads(result.payload)
    return parsed


async def test_python_extension_gets_invokes_and_telemetry(pool: EnvironmentPool, work: Path) -> None:
    config = function(work, {"recorder": PYTHON_EXTENSION}, environment={"EXTENSION_DELAY": "0.3"})
    first = await invoke(pool, config, 1)
    assert first.duration_ms >= 300, first  # the invocation ends once the extension asks for its next event
    seen: dict[str, Any] = {}
    for n in range(2, 30):  # telemetry is delivered in batches, asynchronously, as Lambda's
        seen = body(await invoke(pool, config, n))
        if {"platform.report", "extension"} <= {e["type"] for e in seen["telemetry"]}:
            break
    assert pool.size == 1  # one sandbox all along: the extension kept running, frozen with it
    assert seen["registered"] == [
        {"functionName": "ext", "functionVersion": "$LATEST", "handler": "app.handler"}
    ]
    invokes = [e for e in seen["events"] if e["eventType"] == "INVOKE"]
    assert [e["requestId"] for e in invokes[:2]] == ["r-1", "r-2"]
    assert invokes[0]["invokedFunctionArn"].endswith(":function:ext") and invokes[0]["deadlineMs"] > 0
    assert invokes[0]["tracing"]["type"] == "X-Amzn-Trace-Id"
    kinds = [e["type"] for e in seen["telemetry"]]
    for kind in ("platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                 "platform.runtimeDone", "platform.report", "function"):  # fmt: skip
        assert kind in kinds, kinds
    logs = [e["record"] for e in seen["telemetry"] if e["type"] == "function"]
    assert any("function-says 1" in line for line in logs), logs
    said = [e["record"] for e in seen["telemetry"] if e["type"] == "extension"]
    assert "recorder got INVOKE" in said and not any("recorder got" in line for line in logs), said
    lines: list[str] = []  # the extension's lines reach the invocations' logs too, named
    for n in range(30, 40):
        _, more, _ = await pool.invoke(config, FunctionCall("ext", b"0"), f"r-{n}", 10)
        lines += more
        if "[recorder] recorder got INVOKE" in lines:
            break
    assert "[recorder] recorder got INVOKE" in lines, lines
    report = next(e for e in seen["telemetry"] if e["type"] == "platform.report")
    assert report["record"]["requestId"] == "r-1" and report["record"]["status"] == "success"
    assert (
        report["record"]["metrics"]["durationMs"] >= 300
        and report["record"]["metrics"]["memorySizeMB"] == 128
    )
    assert report["record"]["metrics"]["initDurationMs"] > 0  # the cold start's report only
    telemetry = body(await invoke(pool, config, 50))["telemetry"]  # (after the invocations above)
    reports = [e["record"] for e in telemetry if e["type"] == "platform.report"]
    assert all("initDurationMs" not in r["metrics"] for r in reports[1:]) and len(reports) > 1


async def test_node_extension_speaks_the_same_api(pool: EnvironmentPool, work: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    config = function(work, {"node-recorder": NODE_EXTENSION})
    seen: dict[str, Any] = {}
    for n in range(1, 30):
        seen = body(await invoke(pool, config, n))
        if any(e["type"] == "platform.report" for e in seen["nodeTelemetry"]):
            break
    assert [e["requestId"] for e in seen["nodeEvents"]][:1] == ["r-1"]
    assert seen["nodeEvents"][0]["eventType"] == "INVOKE"
    assert any(e["type"] == "platform.start" for e in seen["nodeTelemetry"])


@pytest.mark.parametrize(
    ("mode", "error_type"),
    [
        ("crash", "Extension.Crash"),
        ("exit-error", "Extension.ExitError"),
        ("init-error", "Extension.InitError"),
    ],
)
async def test_failing_extensions_end_as_lambdas_errors(
    pool: EnvironmentPool, work: Path, mode: str, error_type: str
) -> None:
    config = function(work, {"hostile": HOSTILE_EXTENSION}, environment={"EXTENSION_MODE": mode})
    failed = await invoke(pool, config, 1)
    assert failed.error_type == error_type, failed
    assert json.loads(failed.payload)["errorType"] == error_type


async def test_an_extension_that_never_asks_again_times_the_invocation_out(
    pool: EnvironmentPool, work: Path
) -> None:
    config = function(
        work, {"hostile": HOSTILE_EXTENSION}, environment={"EXTENSION_MODE": "stuck"}, timeout_seconds=1.5
    )
    stuck = await invoke(pool, config, 1, seconds=1.5)
    assert stuck.error_type == "Sandbox.Timedout", stuck
    assert b"Task timed out after 1.50 seconds" in stuck.payload


async def test_a_registration_flood_is_refused_and_the_function_still_runs(
    pool: EnvironmentPool, work: Path
) -> None:
    config = function(work, {"hostile": HOSTILE_EXTENSION}, environment={"EXTENSION_MODE": "flood"})
    seen = body(await invoke(pool, config, 1))
    statuses = seen["statuses"][0]  # (one JSON line)
    assert statuses[:200] == [403] * 200  # names that are not extensions of the function
    assert statuses[200:250] == [409] * 50  # its own name again
    assert statuses[250:] == [403, 400]  # a forged identifier; a destination outside the sandbox
    assert body(await invoke(pool, config, 2))["statuses"] == [statuses]


async def test_exec_wrapper_runs_the_runtime_through_it(pool: EnvironmentPool, work: Path) -> None:
    wrapper = work / "wrapper-layer" / "bin"
    wrapper.mkdir(parents=True)
    (wrapper / "wrap.sh").write_text('#!/bin/sh\nexport WRAPPED="yes:$#"\nexec "$@"\n')
    (wrapper / "wrap.sh").chmod(0o755)
    for d in (wrapper, wrapper.parent):
        d.chmod(0o755)
    code = work / "code"
    code.mkdir()
    (code / "app.py").write_text(APP)
    code.chmod(0o755)
    config = FunctionConfig(
        name="ext", runtime="python3.11", handler="app.handler", code_dir=code, layer_dirs=(wrapper.parent,),
        environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bin/wrap.sh"},
    )  # fmt: skip
    wrapped = body(await invoke(pool, config, 1))["wrapped"]
    assert isinstance(wrapped, str) and wrapped.startswith("yes:"), wrapped


async def test_shutdown_reaches_the_extensions_registered_for_it(work: Path) -> None:
    out = work / "out"
    out.mkdir()
    out.chmod(0o777)

    async def bind_out(config: FunctionConfig) -> Attachments:
        return Attachments(mounts=[BindMount(out, "/mnt/out", read_only=False)])

    slots = SlotTable(work / "slots", 8)
    (work / "rt").mkdir()
    pool = EnvironmentPool(
        run_dir=work / "rt", bwrap="bwrap", cgroups=cgroups.detect("stepline"), slots=slots,
        attachments=bind_out, idle_seconds=60.0, max_environments=8,
    )  # fmt: skip
    try:
        config = function(work, {"recorder": PYTHON_EXTENSION})
        body(await invoke(pool, config, 1))
        await pool.retire("ext")  # (idle environments spun down: SHUTDOWN first; a worker's stop kills)
    finally:
        await pool.close()
        slots.close()
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["INVOKE", "SHUTDOWN"], events
    assert events[1]["shutdownReason"] == "spindown" and events[1]["deadlineMs"] > 0


async def test_ten_extensions_fit_the_sandboxs_connections(pool: EnvironmentPool, work: Path) -> None:
    names = {f"quiet-{n}": HOSTILE_EXTENSION for n in range(10)}  # Lambda's most
    config = function(work, names, environment={"EXTENSION_MODE": "loop"})
    for n in range(3):
        body(await invoke(pool, config, n))


PROVIDED_BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -D "$HEADERS" "$API/invocation/next" >/dev/null
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS "$API/invocation/$ID/response" -d "$(cat /tmp/events.jsonl 2>/dev/null | wc -l)" >/dev/null
done
"""


async def test_a_custom_runtime_and_its_extensions_share_the_runtime_api_address(
    pool: EnvironmentPool, work: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    code = work / "custom"
    code.mkdir()
    (code / "bootstrap").write_text(PROVIDED_BOOTSTRAP)
    (code / "bootstrap").chmod(0o755)
    code.chmod(0o755)
    layer = layer_with(work / "layer-custom", {"recorder": PYTHON_EXTENSION})
    config = FunctionConfig(name="ext", runtime="provided", handler="x", code_dir=code, layer_dirs=(layer,))
    counts = [int((await invoke(pool, config, n)).payload) for n in range(4)]
    assert counts[-1] >= 3 and counts == sorted(counts), counts  # the extension saw the invocations
