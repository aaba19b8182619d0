"""Task tokens attacked: a tenant holding one token (of its own execution) tries to complete someone
else's task, replay a report, or flood a workflow with guesses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from foundation.task_tokens import TaskToken, parse
from tests.integration.helpers import all_history, create_machine, start, wait_until_done

WAIT = {
    "StartAt": "Wait",
    "States": {
        "Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}


async def token_of(api: httpx.AsyncClient, execution_id: str) -> str:
    for _ in range(200):
        events = await all_history(api, execution_id)
        if any(e["type"] == "TaskSubmitted" for e in events):
            scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
            token: str = json.loads(scheduled["parameters"])["Payload"]["token"]
            return token
        await asyncio.sleep(0.05)
    raise AssertionError("the task was never submitted")


async def succeed(api: httpx.AsyncClient, token: str, output: Any) -> httpx.Response:
    return await api.post("/v1/task-tokens/success", json={"taskToken": token, "output": output})


async def test_ones_own_token_cannot_complete_another_executions_task(
    api: httpx.AsyncClient, worker: None
) -> None:
    machine = await create_machine(api, WAIT)
    mine = (await start(api, machine, {}))["executionId"]
    theirs = (await start(api, machine, {}))["executionId"]
    my_token = parse(await token_of(api, mine))
    await token_of(api, theirs)
    # Same wait number and secret, the other execution's workflow: the secret is not theirs.
    retargeted = TaskToken(theirs, my_token.sequence, my_token.secret).text()
    refused = await succeed(api, retargeted, {"stolen": True})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "TaskDoesNotExist"
    # Guessing the neighbour's wait numbers with my secret fails the same way.
    for sequence in range(0, 4):
        guess = await succeed(api, TaskToken(theirs, sequence, my_token.secret).text(), {})
        assert guess.json()["errors"][0]["code"] == "TaskDoesNotExist"
    assert (await api.get(f"/v1/executions/{theirs}")).json()["status"] == "RUNNING"
    # A flood of guesses leaves no trace in the victim's history.
    before = len(await all_history(api, theirs))
    await asyncio.gather(*(succeed(api, TaskToken(theirs, 1, f"guess{i}").text(), {}) for i in range(20)))
    assert len(await all_history(api, theirs)) == before
    # Its real owner still completes it, once.
    assert (await succeed(api, await token_of(api, theirs), {"ok": 1})).status_code == 204
    assert (await wait_until_done(api, theirs))["output"] == {"ok": 1}
    await api.post(f"/v1/executions/{mine}/stop", json={})
