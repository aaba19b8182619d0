"""Function aliases through ``/v1`` on real sandboxes: create, read, update, delete, weighted routing
(a 90/10 alias invoked 2,000 times), which version ran, provisioned concurrency on an alias, Task
states naming ``name:alias``, and the errors."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from foundation.settings import Settings
from statemachine.host import FunctionCall
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

CODE = """
VERSION = {version!r}
def handler(event, context):
    return {{"code": VERSION, "version": context.function_version, "arn": context.invoked_function_arn}}
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


async def two_versions(client: httpx.AsyncClient) -> str:
    """A function with versions 1 and 2 (code "one" and "two"); its name."""
    name = unique("alias")
    body = {"name": name, "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": CODE.format(version="one")}}}  # fmt: skip
    assert (await client.post("/v1/functions", json=body)).status_code == 201
    assert (await client.post(f"/v1/functions/{name}/versions")).status_code == 201
    update = {"code": {"files": {"app.py": CODE.format(version="two")}}}
    assert (await client.put(f"/v1/functions/{name}", json=update)).status_code == 200
    assert (await client.post(f"/v1/functions/{name}/versions")).status_code == 201
    return name


async def invoke(client: httpx.AsyncClient, name: str, qualifier: str) -> tuple[str, dict[str, str]]:
    response = await client.post(
        f"/v1/functions/{name}/invocations", params={"qualifier": qualifier}, json={}
    )
    assert response.status_code == 200, response.text
    return response.headers["x-amz-executed-version"], response.json()


async def test_alias_lifecycle_and_what_runs(client: httpx.AsyncClient) -> None:
    name = await two_versions(client)
    created = await client.post(
        f"/v1/functions/{name}/aliases", json={"name": "live", "functionVersion": "1"}
    )
    assert created.status_code == 201, created.text
    alias = created.json()
    assert alias["aliasArn"].endswith(f":function:{name}:live") and alias["functionVersion"] == "1"

    executed, body = await invoke(client, name, "live")
    assert executed == "1" and body["code"] == "one" and body["version"] == "1"
    assert body["arn"].endswith(f":function:{name}:live")  # the ARN it was invoked by

    moved = await client.put(f"/v1/functions/{name}/aliases/live", json={"functionVersion": "2"})
    assert moved.status_code == 200 and moved.json()["revisionId"] != alias["revisionId"]
    executed, body = await invoke(client, name, "live")
    assert executed == "2" and body["code"] == "two"
    assert (await invoke(client, name, "1"))[0] == "1"
    assert (await invoke(client, name, "$LATEST"))[0] == "$LATEST"

    stale = await client.put(
        f"/v1/functions/{name}/aliases/live", json={"functionVersion": "1", "revisionId": alias["revisionId"]}
    )
    assert stale.status_code == 409 and "Revision Id" in stale.json()["detail"]

    listed = (await client.get(f"/v1/functions/{name}/aliases")).json()["aliases"]
    assert [a["name"] for a in listed] == ["live"]

    assert (await client.delete(f"/v1/functions/{name}/aliases/live")).status_code == 204
    assert (await client.get(f"/v1/functions/{name}/aliases/live")).status_code == 404
    gone = await client.post(f"/v1/functions/{name}/invocations", params={"qualifier": "live"}, json={})
    assert gone.status_code == 404


def _routed(version: str, extra: str, weight: float) -> dict[str, object]:
    routing = {"additionalVersionWeights": {extra: weight}}
    return {"name": "a", "functionVersion": version, "routingConfig": routing}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "123", "functionVersion": "1"}, 400),
        ({"name": "bad name", "functionVersion": "1"}, 400),
        ({"name": "a", "functionVersion": "9"}, 404),
        (_routed("1", "2", 1.5), 400),
        (_routed("1", "1", 0.5), 400),
        (_routed("$LATEST", "2", 0.1), 400),
        (_routed("1", "9", 0.1), 404),
    ],
    ids=[
        "all-digits", "space", "no-such-version", "weight-over-1", "routes-to-itself", "latest-routed",
        "no-such-extra",
    ],
)  # fmt: skip
async def test_bad_aliases_are_refused_naming_the_problem(
    client: httpx.AsyncClient, body: dict[str, object], expected: int
) -> None:
    name = await two_versions(client)
    response = await client.post(f"/v1/functions/{name}/aliases", json=body)
    assert response.status_code == expected, response.text
    assert (await client.get(f"/v1/functions/{name}/aliases")).json()["aliases"] == []  # nothing half-made


async def test_a_90_10_alias_splits_within_binomial_bounds(client: httpx.AsyncClient) -> None:
    name = await two_versions(client)
    routing = {"additionalVersionWeights": {"2": 0.1}}
    body = {"name": "canary", "functionVersion": "1", "routingConfig": routing}
    assert (await client.post(f"/v1/functions/{name}/aliases", json=body)).status_code == 201
    n, p = 2000, 0.1
    ran = [await invoke(client, name, "canary") for _ in range(n)]
    assert all(body["code"] == {"1": "one", "2": "two"}[executed] for executed, body in ran)  # header tells
    second = sum(1 for executed, _ in ran if executed == "2")
    sigma = math.sqrt(n * p * (1 - p))  # 13.4: 5 sigma is 133..267 (flakes once in 1.7 million runs)
    assert abs(second - n * p) <= 5 * sigma, second


async def test_provisioned_concurrency_on_an_alias(client: httpx.AsyncClient) -> None:
    name = await two_versions(client)
    assert (
        await client.post(f"/v1/functions/{name}/aliases", json={"name": "hot", "functionVersion": "2"})
    ).status_code == 201
    response = await client.put(f"/v1/functions/{name}/aliases/hot/concurrency", json={"provisioned": 1})
    assert response.status_code == 200 and response.json()["provisionedConcurrency"] == 1
    latest = await client.post(
        f"/v1/functions/{name}/aliases", json={"name": "head", "functionVersion": "$LATEST"}
    )
    assert latest.status_code == 201
    refused = await client.put(f"/v1/functions/{name}/aliases/head/concurrency", json={"provisioned": 1})
    assert refused.status_code == 400 and "$LATEST" in refused.json()["detail"]
    too_many = await client.put(f"/v1/functions/{name}/aliases/hot/concurrency", json={"provisioned": 1000})
    assert too_many.status_code == 400 and "InvalidParameterValueException" in too_many.json()["detail"]


async def test_task_states_and_invocations_name_an_alias(service: FunctionService) -> None:
    name = await deploy(service, unique("task"), {"app.py": CODE.format(version="one")})
    from foundation.registry import aliases
    from foundation.registry import functions as registry
    from foundation.registry.database import unit_of_work

    async with unit_of_work(service.sessions) as session:
        await registry.publish_version(session, name, None)
        await aliases.create_alias(session, name, "prod", "1", "", {})
    for ref in (f"{name}:prod", f"arn:aws:lambda:us-east-1:000000000000:function:{name}:prod"):
        result = await service.invoke_for_state_machine(FunctionCall(ref, b"{}"))
        assert result.executed_version == "1" and json.loads(result.payload)["code"] == "one"
    result = await service.invoke(name, b"{}", qualifier="prod")
    assert result.executed_version == "1"


async def test_event_invocations_of_the_longest_alias_queue(client: httpx.AsyncClient) -> None:
    name = await two_versions(client)
    alias = "a" * 128
    body = {"name": alias, "functionVersion": "2"}
    assert (await client.post(f"/v1/functions/{name}/aliases", json=body)).status_code == 201
    queued = await client.post(
        f"/v1/functions/{name}/invocations", params={"qualifier": alias}, json={},
        headers={"X-Invocation-Type": "Event"},
    )  # fmt: skip
    assert queued.status_code == 202, queued.text
    assert queued.headers["x-amz-executed-version"] == "2"


async def test_provisioned_alias_environments_are_warm_and_follow_the_alias(service: FunctionService) -> None:
    from foundation.registry import aliases
    from foundation.registry import functions as registry
    from foundation.registry.database import unit_of_work

    name = await deploy(service, unique("warm"), {"app.py": CODE.format(version="one")})
    async with unit_of_work(service.sessions) as session:
        await registry.publish_version(session, name, None)
        await registry.publish_version(session, name, None)
        await aliases.create_alias(session, name, "hot", "1", "", {})
        await aliases.set_provisioned(session, name, "hot", 2)
    await service.provision(name)
    assert service.pool.size == 2
    results = [await service.invoke(name, b"{}", qualifier="hot") for _ in range(2)]
    assert all(r.init_duration_ms is None and r.executed_version == "1" for r in results)  # no cold start
    async with unit_of_work(service.sessions) as session:
        await aliases.update_alias(session, name, "hot", {"function_version": "2"})
    await service.provision(name)
    moved = await service.invoke(name, b"{}", qualifier="hot")
    assert moved.executed_version == "2" and moved.init_duration_ms is None  # version 2's, started ahead
