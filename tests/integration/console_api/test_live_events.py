"""``GET /v1/executions/{id}/events``: history pushed to the client while the execution runs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from api.services import live
from api.services.live import KEEPALIVE_SECONDS
from tests.integration.console_api.sse import Message, messages
from tests.integration.helpers import create_machine, start, wait_until_done

WAITING = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Result": {"n": 1}, "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 2, "Next": "After"},
        "After": {"Type": "Pass", "End": True},
    },
}


async def read_all(client: httpx.AsyncClient, url: str, **kwargs: Any) -> list[Message]:
    """Every event of the stream until the server closes it."""
    out: list[Message] = []
    async with client.stream("GET", url, **kwargs) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for message in messages(response):
            if isinstance(message, Message):
                out.append(message)
    return out


async def test_a_running_execution_streams_each_event_as_it_is_recorded(console: httpx.AsyncClient) -> None:
    machine = await create_machine(console, WAITING)
    execution = await start(console, machine, {"x": 1})
    execution_id = execution["executionId"]
    seen: list[Message] = []
    running_when_wait_entered: str | None = None
    async with console.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        assert response.status_code == 200
        async for message in messages(response):
            if not isinstance(message, Message):
                continue
            seen.append(message)
            if message.event == "history" and message.data["type"] == "WaitStateEntered":
                described = (await console.get(f"/v1/executions/{execution_id}")).json()
                running_when_wait_entered = described["status"]
    types = [m.data["type"] for m in seen if m.event == "history"]
    assert types == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered", "WaitStateExited",
        "PassStateEntered", "PassStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    assert running_when_wait_entered == "RUNNING"  # pushed while running, not read back at the end
    assert [int(m.id or 0) for m in seen[:-1]] == list(range(1, 9))
    assert seen[-1].event == "status"
    assert seen[-1].data["status"] == "SUCCEEDED" and seen[-1].data["executionId"] == execution_id
    # details as GetExecutionHistory serves them: input and output as JSON text
    assert seen[2].data["stateExitedEventDetails"]["output"] == '{"n":1}'
    # the Wait's end came by notice, not by the keep-alive re-check
    wait_entered = next(m for m in seen if m.event == "history" and m.data["type"] == "WaitStateEntered")
    wait_exited = next(m for m in seen if m.event == "history" and m.data["type"] == "WaitStateExited")
    assert wait_exited.received - wait_entered.received < KEEPALIVE_SECONDS - 5


async def test_resuming_with_last_event_id_sends_only_what_follows(console: httpx.AsyncClient) -> None:
    machine = await create_machine(console, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    execution_id = (await start(console, machine, {}))["executionId"]
    await wait_until_done(console, execution_id)
    whole = await read_all(console, f"/v1/executions/{execution_id}/events")
    assert [m.event for m in whole] == ["history"] * 4 + ["status"]
    resumed = await read_all(console, f"/v1/executions/{execution_id}/events", headers={"Last-Event-ID": "2"})
    assert [m.data["id"] for m in resumed if m.event == "history"] == [3, 4]
    by_query = await read_all(console, f"/v1/executions/{execution_id}/events", params={"after": 3})
    assert [m.data["id"] for m in by_query if m.event == "history"] == [4]
    assert by_query[-1].data["status"] == "SUCCEEDED"


async def test_a_stopped_execution_ends_its_stream_with_aborted(console: httpx.AsyncClient) -> None:
    machine = await create_machine(
        console, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    execution_id = (await start(console, machine, {}))["executionId"]
    started = time.monotonic()
    async with console.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        last: Message | None = None
        async for message in messages(response):
            if not isinstance(message, Message):
                continue
            last = message
            if message.event == "history" and message.data["type"] == "WaitStateEntered":
                stop = await console.post(f"/v1/executions/{execution_id}/stop", json={"error": "Halt"})
                assert stop.status_code == 200
    assert last is not None and last.event == "status"
    assert last.data["status"] == "ABORTED" and last.data["error"] == "Halt"
    assert time.monotonic() - started < 30


async def test_refusals_are_problems_not_streams(console: httpx.AsyncClient, console_url: str) -> None:
    missing = await console.get("/v1/executions/nope:nothing/events")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = await console.get("/v1/executions/nope:nothing/events", headers={"Last-Event-ID": "x1"})
    assert bad.status_code == 400 and "Last-Event-ID" in bad.text
    negative = await console.get("/v1/executions/nope:nothing/events", params={"after": -1})
    assert negative.status_code == 400
    async with httpx.AsyncClient(base_url=console_url) as anonymous:
        refused = await anonymous.get("/v1/executions/nope:nothing/events")
    assert refused.status_code == 401


async def test_a_long_history_streams_whole_in_order(console: httpx.AsyncClient) -> None:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(150)}
    states["S150"] = {"Type": "Wait", "Seconds": 1, "End": True}
    machine = await create_machine(console, {"StartAt": "S0", "States": states})
    execution_id = (await start(console, machine, {}))["executionId"]
    seen = await read_all(console, f"/v1/executions/{execution_id}/events")  # read pages while it runs
    ids = [int(m.id or 0) for m in seen if m.event == "history"]
    assert ids == list(range(1, 2 * 151 + 3))  # every event once, in order, across pages
    assert seen[-1].event == "status" and seen[-1].data["status"] == "SUCCEEDED"


async def test_a_client_leaving_frees_its_stream(console: httpx.AsyncClient) -> None:
    machine = await create_machine(
        console, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    execution_id = (await start(console, machine, {}))["executionId"]
    before = live._open[0]
    async with console.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        async for message in messages(response):
            if isinstance(message, Message) and message.data.get("type") == "WaitStateEntered":
                assert live._open[0] == before + 1
                break  # the client goes away mid-stream
    for _ in range(200):  # the server notices the closed connection within moments
        if live._open[0] == before:
            break
        await asyncio.sleep(0.05)
    assert live._open[0] == before  # it let go of the stream
    await console.post(f"/v1/executions/{execution_id}/stop", json={})


async def test_viewers_of_one_execution_share_its_workflow_queries(console: httpx.AsyncClient) -> None:
    machine = await create_machine(console, WAITING)
    execution_id = (await start(console, machine, {}))["executionId"]
    before = live.SHARED.queries
    streams = await asyncio.gather(
        *(read_all(console, f"/v1/executions/{execution_id}/events") for _ in range(6))
    )
    for seen in streams:  # every viewer sees the whole history once, in order
        assert [m.data["id"] for m in seen if m.event == "history"] == list(range(1, 9))
        assert seen[-1].data["status"] == "SUCCEEDED"
    # one stream alone queries at least twice (what is recorded, what follows the Wait): six
    # unshared streams would make 12 or more
    assert live.SHARED.queries - before < 12, live.SHARED.queries - before
