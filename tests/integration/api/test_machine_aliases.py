"""State machine aliases on ``/v1``: create, describe, update, list, delete, start through one (the
versions are published through the AWS endpoint of the same app: ``/v1`` numbers revisions)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.helpers import create_machine, wait_until_done

pytestmark = pytest.mark.integration


def pass_machine(result: str) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


async def publish(api: httpx.AsyncClient, machine: str) -> int:
    """Publish the machine's latest revision (PublishStateMachineVersion); its version number."""
    response = await api.post(
        "/",
        json={"stateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{machine}"},
        headers={
            "X-Amz-Target": "AWSStepFunctions.PublishStateMachineVersion",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert response.status_code == 200, response.text
    return int(response.json()["stateMachineVersionArn"].rsplit(":", 1)[1])


async def test_aliases_on_v1(api: httpx.AsyncClient, worker: None) -> None:
    machine = await create_machine(api, pass_machine("one"))
    v1 = await publish(api, machine)
    updated = await api.put(f"/v1/state-machines/{machine}", json={"definition": pass_machine("two")})
    assert updated.status_code == 200, updated.text
    v2 = await publish(api, machine)
    base = f"/v1/state-machines/{machine}/aliases"

    created = await api.post(base, json={"name": "live", "routing": [{"version": v2, "weight": 100}]})
    assert created.status_code == 201, created.text
    assert created.json()["aliasArn"].endswith(f":stateMachine:{machine}:live")
    started = await api.post(f"{base}/live/executions", json={"input": {}})
    assert started.status_code == 201, started.text
    done = await wait_until_done(api, started.json()["executionId"])
    assert (done["output"], done["alias"], done["publishedVersion"]) == ("two", "live", v2)

    moved = await api.put(f"{base}/live", json={"routing": [{"version": v1, "weight": 100}]})
    assert moved.json()["routing"] == [{"version": v1, "weight": 100}]
    again = await api.post(f"{base}/live/executions", json={})
    assert (await wait_until_done(api, again.json()["executionId"]))["output"] == "one"
    assert [a["name"] for a in (await api.get(base)).json()["aliases"]] == ["live"]

    bad = await api.post(base, json={"name": "x", "routing": [{"version": v1, "weight": 40}]})
    assert bad.status_code == 400 and "add up to 100" in bad.text
    missing = await api.post(base, json={"name": "x", "routing": [{"version": 99, "weight": 100}]})
    assert missing.status_code == 404
    assert (await api.delete(f"{base}/live")).status_code == 204
    assert (await api.get(f"{base}/live")).status_code == 404
    assert (await api.post(f"{base}/live/executions", json={})).status_code == 404
