"""The functions API end to end: create, invoke, update, publish, concurrency, logs, errors."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap, unique

pytestmark = [requires_bwrap]

HELLO = """
import os
calls = 0
def handler(event, context):
    global calls
    calls += 1
    print("hello", event.get("who"))
    return {"greeting": f"hello {event.get('who')}", "calls": calls, "version": context.function_version}
def fail(event, context):
    raise RuntimeError("nope")
"""


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the real function runtime in its lifespan."""
    from api.app import create_app

    app = create_app(settings.model_copy(update={"data_dir": tmp_path / "data"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://stepline.test") as c:
            yield c


async def create(client: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    body = {"name": unique("fn"), "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": HELLO}}} | fields  # fmt: skip
    response = await client.post("/v1/functions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_create_invoke_and_read_logs(client: httpx.AsyncClient) -> None:
    fn = await create(client)
    name = fn["functionName"]
    assert fn["version"] == "$LATEST" and fn["memorySize"] == 128 and fn["timeout"] == 3
    first = await client.post(f"/v1/functions/{name}/invocations", json={"who": "ada"})
    assert first.status_code == 200
    assert first.json() == {"greeting": "hello ada", "calls": 1, "version": "$LATEST"}
    second = await client.post(f"/v1/functions/{name}/invocations", json={"who": "bob"})
    assert second.json()["calls"] == 2  # warm: globals persist
    request_id = second.headers["x-amzn-requestid"]
    logs = (await client.get(f"/v1/functions/{name}/logs", params={"requestId": request_id})).json()["events"]
    messages = [e["message"] for e in logs]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert messages[1] == "hello bob"
    assert messages[2] == f"END RequestId: {request_id}"
    assert messages[3].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Billed Duration: " in messages[3] and "Memory Size: 128 MB" in messages[3]
    assert "Init Duration" not in messages[3]
    all_logs = (await client.get(f"/v1/functions/{name}/logs")).json()["events"]
    assert any("Init Duration" in e["message"] for e in all_logs)


async def test_zip_upload(client: httpx.AsyncClient) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/main.py", "def go(event, context):\n    return event['n'] * 2\n")
    code = {"zipFile": base64.b64encode(buffer.getvalue()).decode()}
    fn = await create(client, handler="pkg.main.go", code=code)
    response = await client.post(f"/v1/functions/{fn['functionName']}/invocations", json={"n": 21})
    assert response.json() == 42


async def test_function_error_is_flagged_in_a_header(client: httpx.AsyncClient) -> None:
    fn = await create(client, handler="app.fail")
    response = await client.post(f"/v1/functions/{fn['functionName']}/invocations", json={})
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert response.json()["errorType"] == "RuntimeError"
    assert response.json()["errorMessage"] == "nope"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"memorySize": 64}, "/memorySize"),
        ({"timeout": 901}, "/timeout"),
        ({"runtime": "cobol"}, "/runtime"),
        ({"environment": {"AWS_REGION": "x"}}, "/environment"),
        ({"environment": {"BIG": "x" * 5000}}, "/environment"),
        ({"code": {"zipFile": "not base64!"}}, "/code"),
        ({"code": {"zipFile": base64.b64encode(b"not a zip").decode()}}, "/code"),
        ({"code": {}}, "/code"),
        ({"handler": "nodot"}, "/handler"),
        ({"runtime": "provided"}, "/code"),
        ({"name": "bad name!"}, "/name"),
    ],
    ids=["memory", "timeout", "runtime", "reserved-env", "env-size", "base64", "zip", "no-code", "handler",
         "no-bootstrap", "name"],
)  # fmt: skip
async def test_invalid_configuration_is_a_400_and_creates_nothing(
    client: httpx.AsyncClient, fields: dict[str, object], where: str
) -> None:
    name = unique("bad")
    body = {"name": name, "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": HELLO}}} | fields  # fmt: skip
    response = await client.post("/v1/functions", json=body)
    assert response.status_code == 400, response.text
    assert where in response.text
    assert (await client.get(f"/v1/functions/{name}")).status_code == 404


async def test_update_drains_old_environments_and_publish_freezes_a_version(
    client: httpx.AsyncClient,
) -> None:
    fn = await create(client)
    name = fn["functionName"]
    assert (await client.post(f"/v1/functions/{name}/invocations", json={"who": "a"})).json()["calls"] == 1
    published = await client.post(f"/v1/functions/{name}/versions", json={"description": "first"})
    assert published.status_code == 201 and published.json()["version"] == "1"
    new_code = {"files": {"app.py": "def handler(event, context):\n    return 'v2'\n"}}
    updated = await client.put(f"/v1/functions/{name}", json={"code": new_code, "memorySize": 256})
    assert updated.status_code == 200 and updated.json()["memorySize"] == 256
    await asyncio.sleep(0.05)
    assert (await client.post(f"/v1/functions/{name}/invocations", json={})).json() == "v2"
    old = await client.post(f"/v1/functions/{name}/invocations", params={"qualifier": "1"}, json={"who": "b"})
    assert old.json()["version"] == "1" and old.headers["x-amz-executed-version"] == "1"
    missing = await client.post(f"/v1/functions/{name}/invocations", params={"qualifier": "7"}, json={})
    assert missing.status_code == 404
    versions = (await client.get(f"/v1/functions/{name}/versions")).json()["versions"]
    assert [v["version"] for v in versions] == ["$LATEST", "1"]


async def test_reserved_concurrency_zero_throttles_with_429(client: httpx.AsyncClient) -> None:
    fn = await create(client)
    name = fn["functionName"]
    response = await client.put(f"/v1/functions/{name}/concurrency", json={"reserved": 0})
    assert response.json() == {"reserved": 0, "provisioned": 0}
    await asyncio.sleep(0.05)
    throttled = await client.post(f"/v1/functions/{name}/invocations", json={})
    assert throttled.status_code == 429
    assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"


async def test_event_and_dry_run_invocations(client: httpx.AsyncClient) -> None:
    fn = await create(client)
    name = fn["functionName"]
    dry = await client.post(
        f"/v1/functions/{name}/invocations", headers={"X-Invocation-Type": "DryRun"}, json={}
    )
    assert dry.status_code == 204
    event = await client.post(
        f"/v1/functions/{name}/invocations", headers={"X-Invocation-Type": "Event"}, json={"who": "async"}
    )
    assert event.status_code == 202
    for _ in range(100):
        logs = (await client.get(f"/v1/functions/{name}/logs")).json()["events"]
        if any(e["message"] == "hello async" for e in logs):
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the Event invocation did not run")


async def test_unknown_function_and_oversized_payload(client: httpx.AsyncClient) -> None:
    missing = await client.post("/v1/functions/nothing-here/invocations", json={})
    assert missing.status_code == 404
    assert missing.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    fn = await create(client)
    big = json.dumps({"x": "y" * (6 * 1024 * 1024)})
    too_large = await client.post(f"/v1/functions/{fn['functionName']}/invocations", content=big)
    assert too_large.status_code == 413
    assert (await client.delete(f"/v1/functions/{fn['functionName']}")).status_code == 204
    assert (await client.get(f"/v1/functions/{fn['functionName']}")).status_code == 404


async def test_list_pages_with_next_token_and_logs_filter_by_time(client: httpx.AsyncClient) -> None:
    names = sorted([str((await create(client))["functionName"]) for _ in range(3)])
    seen: list[str] = []
    token = None
    for _ in range(100):
        params = {"limit": 2} | ({"nextToken": token} if token else {})
        page = (await client.get("/v1/functions", params=params)).json()
        seen += [f["functionName"] for f in page["functions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert [n for n in seen if n in names] == names
    refused = await client.get("/v1/functions", params={"nextToken": "not-a-token"})
    assert refused.status_code == 400 and "nextToken" in refused.json()["detail"]
    first = await client.post(f"/v1/functions/{names[0]}/invocations", json={"who": "early"})
    await asyncio.sleep(0.01)
    cutoff = datetime.now(UTC).isoformat()
    await client.post(f"/v1/functions/{names[0]}/invocations", json={"who": "late"})
    later = (await client.get(f"/v1/functions/{names[0]}/logs", params={"since": cutoff})).json()["events"]
    messages = [e["message"] for e in later]
    assert "hello late" in messages and "hello early" not in messages
    assert first.headers["x-amzn-requestid"] not in {e["requestId"] for e in later[1:]}


async def test_provisioned_environments_restart_on_the_new_code_after_an_update(
    client: httpx.AsyncClient,
) -> None:
    fn = await create(client)
    name = fn["functionName"]
    runtime = client._transport.app.state.stepline.function_invoker  # type: ignore[attr-defined]
    response = await client.put(f"/v1/functions/{name}/concurrency", json={"reserved": 4, "provisioned": 2})
    assert response.status_code == 200, response.text
    assert runtime.pool.size == 2
    new_code = {"files": {"app.py": "def handler(event, context):\n    return 'new'\n"}}
    response = await client.put(f"/v1/functions/{name}", json={"code": new_code})
    assert response.status_code == 200, response.text
    for _ in range(100):  # the retired environments close in the background
        if runtime.pool.size == 2:
            break
        await asyncio.sleep(0.02)
    assert runtime.pool.size == 2
    result = await client.post(f"/v1/functions/{name}/invocations", json={})
    assert result.json() == "new"
    assert (
        "Init Duration"
        not in base64.b64decode(
            (
                await client.post(
                    f"/v1/functions/{name}/invocations", json={}, headers={"X-Amz-Log-Type": "Tail"}
                )
            ).headers["x-amz-log-result"]
        ).decode()
    )
