"""A function's metrics over time, its cost estimate and its log stream, from real invocations in
the sandbox."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.integration.console_api.sse import Message, messages
from tests.integration.helpers import create_function

CODE = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    print(f"working on {event['n']}")
    print("REPORT RequestId: " + context.aws_request_id + "\\tDuration: 99999.00 ms\\t"
          "Billed Duration: 99999 ms\\tMemory Size: 10240 MB")
    return event['n'] * 2
"""


async def invoke(console: httpx.AsyncClient, name: str, n: int) -> None:
    response = await console.post(f"/v1/functions/{name}/invocations", json={"n": n})
    assert response.status_code == 200 and response.json() == n * 2


async def settled_metrics(console: httpx.AsyncClient, name: str, invocations: int) -> dict[str, object]:
    """The metrics once every invocation's REPORT line is stored (lines are written in batches)."""
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, object] = (await console.get(f"/v1/functions/{name}/metrics")).json()
        totals = body["totals"]
        assert isinstance(totals, dict)
        if totals["invocations"] >= invocations or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


async def test_metrics_and_cost_count_each_invocation_once(console: httpx.AsyncClient) -> None:
    name = await create_function(console, CODE, prefix="metrics")
    for n in range(3):
        await invoke(console, name, n)
    body = await settled_metrics(console, name, 3)
    totals = body["totals"]
    assert isinstance(totals, dict) and isinstance(body["points"], list)
    assert totals["invocations"] == 3  # the forged REPORT lines count for nothing
    assert 1 <= totals["coldStarts"] <= 3  # the first at least (the pool may start another under load)
    assert 0 < totals["gbSeconds"] < 1  # 128 MB for a few ms, not the forged 10 GB for 100 s
    assert totals["errors"] == 0 and totals["throttles"] == 0
    assert len(body["points"]) == 60 and body["period"] == 60
    busy = [p for p in body["points"] if p["invocations"]]
    assert busy and all(p["durationP50Ms"] is not None for p in busy)

    cost = (await console.get(f"/v1/functions/{name}/cost")).json()
    assert cost["estimate"] is True and cost["currency"] == "USD"
    requests = next(i for i in cost["items"] if i["name"] == "requests")
    assert requests["quantity"] == 3 and requests["unitPrice"] == 0.20 / 1_000_000
    assert cost["prices"]["lambda"]["perGbSecond"] == 0.0000166667
    assert cost["total"] == sum(i["amount"] for i in cost["items"])

    bad = await console.get(f"/v1/functions/{name}/metrics", params={"period": 7})
    assert bad.status_code == 400 and "period" in bad.text
    wide = await console.get(
        f"/v1/functions/{name}/metrics",
        params={"start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
    )
    assert wide.status_code == 400 and "buckets" in wide.text
    assert (await console.get("/v1/functions/no-such-fn/metrics")).status_code == 404


async def test_the_log_stream_tails_new_lines(console: httpx.AsyncClient) -> None:
    name = await create_function(console, CODE, prefix="tail")
    await invoke(console, name, 1)
    seen: list[Message] = []
    async with console.stream("GET", f"/v1/functions/{name}/logs/stream") as response:
        assert response.status_code == 200
        invoked = False
        async for message in messages(response):
            if not isinstance(message, Message):
                continue
            seen.append(message)
            if "working on 1" in message.data["message"] and not invoked:
                invoked = True
                await invoke(console, name, 42)  # arrives through the stream, pushed
            if "working on 42" in message.data["message"]:
                break
    texts = [m.data["message"] for m in seen]
    assert any(t.startswith("START RequestId") for t in texts)
    assert any("working on 42" in t for t in texts)
    ids = [int(m.id or 0) for m in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    resumed = []
    async with console.stream(
        "GET", f"/v1/functions/{name}/logs/stream", headers={"Last-Event-ID": str(ids[0])}
    ) as response:
        async for message in messages(response):
            if isinstance(message, Message):
                resumed.append(int(message.id or 0))
                if len(resumed) == len(ids) - 1:
                    break
    assert resumed == ids[1:]
    missing = await console.get("/v1/functions/no-such-fn/logs/stream")
    assert missing.status_code == 404


async def test_errors_and_throttles_are_sampled_from_the_runtime(console: httpx.AsyncClient) -> None:
    name = await create_function(console, CODE, prefix="failing")
    failed = await console.post(f"/v1/functions/{name}/invocations", json={"fail": True})
    assert failed.status_code == 200 and failed.headers["x-amz-function-error"] == "Unhandled"
    assert (await console.put(f"/v1/functions/{name}/concurrency", json={"reserved": 0})).status_code == 200
    throttled = await console.post(f"/v1/functions/{name}/invocations", json={"n": 1})
    assert throttled.status_code == 429
    deadline = time.monotonic() + 40  # sampled every 0.5 s here (conftest)
    while True:
        totals = (await console.get(f"/v1/functions/{name}/metrics")).json()["totals"]
        if (totals["errors"], totals["throttles"]) == (1, 1) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert (totals["errors"], totals["throttles"]) == (1, 1)
    assert totals["invocations"] == 1  # the throttled one never ran
