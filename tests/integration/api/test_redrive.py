"""``POST /v1/executions/{id}/redrive``: a failed execution runs again from its failed state (here
a Fail state, so it fails again, redriven once); one that succeeded is a 409 with the reason."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.helpers import all_history, create_machine, start, wait_until_done

pytestmark = pytest.mark.integration


async def test_redrive_on_v1(api: httpx.AsyncClient, worker: None) -> None:
    failing = await create_machine(
        api,
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "F"}, "F": {"Type": "Fail", "Error": "E"}}},
    )
    execution = (await start(api, failing, {"x": 1}))["executionId"]
    assert (await wait_until_done(api, execution))["status"] == "FAILED"
    redriven = await api.post(f"/v1/executions/{execution}/redrive")
    assert redriven.status_code == 200, redriven.text
    again = await wait_until_done(api, execution)
    assert (again["status"], again["error"], again["redriveCount"]) == ("FAILED", "E", 1)
    kinds = [e["type"] for e in await all_history(api, execution)]
    assert kinds == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "FailStateEntered", "ExecutionFailed",
        "ExecutionRedriven", "FailStateEntered", "ExecutionFailed",
    ]  # fmt: skip

    passing = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    done = (await start(api, passing))["executionId"]
    await wait_until_done(api, done)
    refused = await api.post(f"/v1/executions/{done}/redrive")
    assert refused.status_code == 409 and "SUCCEEDED" in refused.text
    assert (await api.post("/v1/executions/nope:nope/redrive")).status_code == 404
