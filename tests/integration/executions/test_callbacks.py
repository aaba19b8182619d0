"""The callback pattern through ``/v1``: ``.waitForTaskToken`` Tasks waiting durably for their token."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from foundation.task_tokens import TaskToken, parse
from tests.integration.helpers import all_history, create_machine, start, wait_until_done

pytestmark = pytest.mark.integration

WAIT_FOR_ECHO = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
}


async def token_of(api: httpx.AsyncClient, execution_id: str, occurrence: int = 1) -> str:
    """The token the execution's ``occurrence``-th TaskScheduled passed, once it has been passed."""
    for _ in range(200):
        events = await all_history(api, execution_id)
        scheduled = [e for e in events if e["type"] == "TaskSubmitted"]
        if len(scheduled) >= occurrence:
            parameters = [e for e in events if e["type"] == "TaskScheduled"][occurrence - 1]
            payload = json.loads(parameters["taskScheduledEventDetails"]["parameters"])["Payload"]
            token: str = payload["token"]
            return token
        await asyncio.sleep(0.05)
    raise AssertionError("the task was never submitted")


async def until_event(api: httpx.AsyncClient, execution_id: str, kind: str) -> None:
    for _ in range(200):
        if kind in [e["type"] for e in await all_history(api, execution_id)]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event")


async def report(api: httpx.AsyncClient, kind: str, **body: Any) -> httpx.Response:
    return await api.post(f"/v1/task-tokens/{kind}", json=body)


async def test_a_callback_resumes_the_execution_with_the_output_it_sends(
    api: httpx.AsyncClient, worker: None
) -> None:
    machine = await create_machine(
        api,
        {"StartAt": "Wait", "States": {"Wait": {**WAIT_FOR_ECHO, "ResultPath": "$.approval", "End": True}}},
    )
    execution = (await start(api, machine, {"order": 7}))["executionId"]
    token = await token_of(api, execution)
    assert token.startswith("SLT1.")
    response = await report(api, "success", taskToken=token, output={"approved": True})
    assert response.status_code == 204, response.text
    described = await wait_until_done(api, execution)
    assert described["status"] == "SUCCEEDED"
    assert described["output"] == {"order": 7, "approval": {"approved": True}}
    types = [e["type"] for e in await all_history(api, execution)]
    assert types[types.index("TaskScheduled") :] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    again = await report(api, "success", taskToken=token, output={})
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "TaskTimedOut"


async def test_tokens_that_are_not_ours_or_do_not_match_are_refused(
    api: httpx.AsyncClient, worker: None
) -> None:
    machine = await create_machine(
        api, {"StartAt": "Wait", "States": {"Wait": {**WAIT_FOR_ECHO, "End": True}}}
    )
    execution = (await start(api, machine, {"order": 1}))["executionId"]
    token = await token_of(api, execution)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = await report(api, "success", taskToken=forged, output={})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "TaskDoesNotExist"
    elsewhere = TaskToken("no-such-machine:no-such-execution", 1, "secret").text()
    nowhere = await report(api, "success", taskToken=elsewhere, output={})
    assert nowhere.status_code == 400 and nowhere.json()["errors"][0]["code"] == "TaskDoesNotExist"
    garbage = await report(api, "heartbeat", taskToken="not-a-token")
    assert garbage.status_code == 400 and garbage.json()["errors"][0]["code"] == "InvalidToken"
    too_deep = await report(api, "success", taskToken=token, outputText="[" * 5000 + "]" * 5000)
    assert too_deep.status_code == 400 and too_deep.json()["errors"][0]["code"] == "InvalidOutput"
    not_json = await report(api, "success", taskToken=token, outputText="{nope")
    assert not_json.status_code == 400 and not_json.json()["errors"][0]["code"] == "InvalidOutput"
    failed = await report(api, "failure", taskToken=token, error="Rejected", cause="no stock")
    assert failed.status_code == 204, failed.text
    described = await wait_until_done(api, execution)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Rejected", "no stock")


async def test_heartbeats_keep_a_task_alive_and_their_absence_times_it_out(
    api: httpx.AsyncClient, worker: None
) -> None:
    waiting = {**WAIT_FOR_ECHO, "HeartbeatSeconds": 2, "TimeoutSeconds": 60}
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                **waiting,
                "Catch": [
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.error", "Next": "Late"}
                ],
                "End": True,
            },
            "Late": {"Type": "Pass", "End": True},
        },
    }
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"order": 3}))["executionId"]
    token = await token_of(api, execution)
    for _ in range(6):  # 3 s in all, beyond HeartbeatSeconds, kept alive by the beats (1.5 s to spare each)
        await asyncio.sleep(0.5)
        beat = await report(api, "heartbeat", taskToken=token)
        assert beat.status_code == 204, beat.text
    described = await wait_until_done(api, execution, seconds=15)
    assert described["status"] == "SUCCEEDED"
    assert described["output"]["error"]["Error"] == "States.HeartbeatTimeout"
    timed_out = [e for e in await all_history(api, execution) if e["type"] == "TaskTimedOut"]
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"


async def test_each_retry_gets_a_token_of_its_own(api: httpx.AsyncClient, worker: None) -> None:
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                **WAIT_FOR_ECHO,
                "Retry": [{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"order": 5}))["executionId"]
    first = await token_of(api, execution)
    assert (await report(api, "failure", taskToken=first, error="Again")).status_code == 204
    second = await token_of(api, execution, occurrence=2)
    assert second != first
    stale = await report(api, "success", taskToken=first, output={})
    assert stale.json()["errors"][0]["code"] == "TaskTimedOut"
    assert (await report(api, "success", taskToken=second, output={"done": 2})).status_code == 204
    assert (await wait_until_done(api, execution))["output"] == {"done": 2}


async def test_an_express_machine_cannot_wait_for_a_token(api: httpx.AsyncClient) -> None:
    definition = {"StartAt": "Wait", "States": {"Wait": {**WAIT_FOR_ECHO, "End": True}}}
    response = await api.post(
        "/v1/state-machines", json={"name": "express-waiting", "type": "EXPRESS", "definition": definition}
    )
    assert response.status_code == 400, response.text
    assert "/States/Wait/Resource" in response.text and ".waitForTaskToken" in response.text
    validated = await api.post("/v1/state-machines/validate", json={"definition": definition})
    assert validated.json()["result"] == "OK"  # a Standard machine may


async def test_a_child_execution_names_its_parent(api: httpx.AsyncClient, worker: None) -> None:
    child = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{child}"},
        "End": True,
    }
    parent = await create_machine(api, {"StartAt": "Run", "States": {"Run": task}})
    started = await start(api, parent, {})
    described = await wait_until_done(api, started["executionId"])
    assert described["status"] == "SUCCEEDED", described
    child_arn: str = described["output"]["ExecutionArn"]
    child_id = ":".join(child_arn.rsplit(":", 2)[-2:])
    child_described = (await api.get(f"/v1/executions/{child_id}")).json()
    assert child_described["startedBy"] == started["executionArn"]
    assert (await api.get(f"/v1/executions/{started['executionId']}")).json()["startedBy"] is None


async def test_a_stopped_executions_activity_task_is_never_handed_out(
    api: httpx.AsyncClient, worker: None
) -> None:
    name = f"act-{uuid.uuid4().hex[:8]}"
    assert (await api.post("/v1/activities", json={"name": name})).status_code == 201
    arn = f"arn:aws:states:us-east-1:000000000000:activity:{name}"
    machine = await create_machine(
        api, {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": arn, "End": True}}}
    )
    first = (await start(api, machine, {"n": 1}))["executionId"]
    second = (await start(api, machine, {"n": 2}))["executionId"]
    for execution in (first, second):
        await until_event(api, execution, "ActivityScheduled")
    stopped = await api.post(f"/v1/executions/{first}/stop", json={"error": "Halt"})
    assert stopped.json()["status"] == "ABORTED"
    polled = await api.post(f"/v1/activities/{name}/tasks", params={"workerName": "w", "waitSeconds": 1})
    assert polled.json()["input"] == {"n": 2}  # the first one's task is skipped
    empty = await api.post(f"/v1/activities/{name}/tasks", params={"waitSeconds": 0.2})
    assert empty.json() == {"taskToken": None, "input": None}
    done = await report(api, "success", taskToken=polled.json()["taskToken"], output={"ok": 1})
    assert done.status_code == 204
    assert (await wait_until_done(api, second))["output"] == {"ok": 1}
    missing = await api.post("/v1/activities/no-such-activity/tasks", params={"waitSeconds": 0})
    assert missing.status_code == 404


async def test_map_iterations_wait_for_tokens_of_their_own(api: httpx.AsyncClient, worker: None) -> None:
    processor = {"StartAt": "Wait", "States": {"Wait": {**WAIT_FOR_ECHO, "End": True}}}
    definition = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.orders", "ItemProcessor": processor, "End": True}},
    }
    machine = await create_machine(api, definition)
    execution = (await start(api, machine, {"orders": [{"order": 1}, {"order": 2}, {"order": 3}]}))[
        "executionId"
    ]
    for _ in range(200):
        events = await all_history(api, execution)
        if sum(e["type"] == "TaskSubmitted" for e in events) == 3:
            break
        await asyncio.sleep(0.05)
    tokens = {
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["order"]: json.loads(
            e["taskScheduledEventDetails"]["parameters"]
        )["Payload"]["token"]
        for e in events
        if e["type"] == "TaskScheduled"
    }
    assert len(set(tokens.values())) == 3
    for order in (3, 1, 2):  # out of order: each resumes its own iteration
        sent = await report(api, "success", taskToken=tokens[order], output={"done": order})
        assert sent.status_code == 204, sent.text
    assert (await wait_until_done(api, execution))["output"] == [{"done": 1}, {"done": 2}, {"done": 3}]


async def test_a_large_maps_chunks_take_their_activity_workers_reports(
    api: httpx.AsyncClient, worker: None
) -> None:
    """Past 200 items a Map runs in chunk workflows: their tokens name the chunk that waits."""
    name = f"act-{uuid.uuid4().hex[:8]}"
    await api.post("/v1/activities", json={"name": name})
    task = {"Type": "Task", "Resource": f"arn:aws:states:us-east-1:000000000000:activity:{name}", "End": True}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 50,
                "ItemProcessor": {"StartAt": "Work", "States": {"Work": task}},
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    items = [{"i": i} for i in range(230)]
    execution = (await start(api, machine, items))["executionId"]
    chunks: set[str] = set()
    left = list(items)  # one poll per item, shared by eight activity workers polling at once

    async def activity_worker() -> None:
        while left:
            left.pop()
            polled = (await api.post(f"/v1/activities/{name}/tasks", params={"waitSeconds": 20})).json()
            assert polled["taskToken"] is not None
            chunks.add(parse(polled["taskToken"]).workflow_id)
            sent = await report(
                api, "success", taskToken=polled["taskToken"], output={"twice": polled["input"]["i"] * 2}
            )
            assert sent.status_code == 204, sent.text

    await asyncio.gather(*(activity_worker() for _ in range(8)))
    described = await wait_until_done(api, execution, seconds=60)
    assert described["output"] == [{"twice": i * 2} for i in range(230)]
    assert all("/map/Each/" in chunk for chunk in chunks) and len(chunks) >= 1


async def test_a_child_input_nested_past_the_parser_fails_the_task(
    api: httpx.AsyncClient, worker: None
) -> None:
    child = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution",
        "Parameters": {
            "StateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{child}",
            "Input.$": "$.text",
        },
        "End": True,
    }
    parent = await create_machine(api, {"StartAt": "Run", "States": {"Run": task}})
    started = await start(api, parent, {"text": "[" * 100_000 + "]" * 100_000})
    described = await wait_until_done(api, started["executionId"])
    assert (described["status"], described["error"]) == (
        "FAILED",
        "StepFunctions.InvalidExecutionInputException",
    )


async def test_a_sync_child_outlasting_timeout_seconds_times_the_task_out(
    api: httpx.AsyncClient, worker: None
) -> None:
    child = await create_machine(
        api, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
    )
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{child}"},
        "TimeoutSeconds": 2,
        "End": True,
    }
    parent = await create_machine(api, {"StartAt": "Run", "States": {"Run": task}})
    started = await start(api, parent, {})
    described = await wait_until_done(api, started["executionId"])
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert "TaskTimedOut" in [e["type"] for e in await all_history(api, started["executionId"])]


async def test_concurrent_pollers_never_share_a_task(api: httpx.AsyncClient, worker: None) -> None:
    name = f"act-{uuid.uuid4().hex[:8]}"
    await api.post("/v1/activities", json={"name": name})
    task = {"Type": "Task", "Resource": f"arn:aws:states:us-east-1:000000000000:activity:{name}", "End": True}
    machine = await create_machine(api, {"StartAt": "W", "States": {"W": task}})
    executions = [(await start(api, machine, {"n": n}))["executionId"] for n in range(12)]
    taken: list[dict[str, Any]] = []

    async def poller(worker_name: str) -> None:
        while True:
            polled = (
                await api.post(
                    f"/v1/activities/{name}/tasks", params={"workerName": worker_name, "waitSeconds": 2}
                )
            ).json()
            if polled["taskToken"] is None:
                return
            taken.append(polled)
            await report(api, "success", taskToken=polled["taskToken"], output=polled["input"])

    await asyncio.gather(*(poller(f"w{i}") for i in range(4)))
    assert sorted(t["input"]["n"] for t in taken) == list(range(12))
    assert len({t["taskToken"] for t in taken}) == 12
    for n, execution in enumerate(executions):
        assert (await wait_until_done(api, execution))["output"] == {"n": n}


async def test_a_child_name_already_used_is_execution_already_exists(
    api: httpx.AsyncClient, worker: None
) -> None:
    child = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    name = f"once-{uuid.uuid4().hex[:8]}"
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {
            "StateMachineArn": f"arn:aws:states:us-east-1:000000000000:stateMachine:{child}",
            "Name": name,
        },
        "End": True,
    }
    parent = await create_machine(api, {"StartAt": "Run", "States": {"Run": task}})
    first = await wait_until_done(api, (await start(api, parent, {}))["executionId"])
    assert first["status"] == "SUCCEEDED", first
    second = await wait_until_done(api, (await start(api, parent, {}))["executionId"])
    assert (second["status"], second["error"]) == ("FAILED", "StepFunctions.ExecutionAlreadyExistsException")


async def test_frequent_heartbeats_do_not_grow_the_temporal_history(
    api: httpx.AsyncClient, worker: None, temporal_client: Client
) -> None:
    machine = await create_machine(
        api, {"StartAt": "Wait", "States": {"Wait": {**WAIT_FOR_ECHO, "HeartbeatSeconds": 600, "End": True}}}
    )
    execution = (await start(api, machine, {"order": 9}))["executionId"]
    token = await token_of(api, execution)
    for _ in range(20):
        assert (await report(api, "heartbeat", taskToken=token)).status_code == 204
    assert (await report(api, "success", taskToken=token, output={"ok": True})).status_code == 204
    assert (await wait_until_done(api, execution))["output"] == {"ok": True}
    history = await temporal_client.get_workflow_handle(execution).fetch_history()
    accepted = [
        e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted) == 1  # the success; the 20 heartbeats within 300 s of the start changed nothing
