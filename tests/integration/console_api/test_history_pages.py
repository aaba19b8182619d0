"""``GET /v1/executions/{id}/history`` of a finished execution: large pages, and values orjson alone
would get wrong."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.helpers import create_machine, start, wait_until_done

BIG = 2**70  # beyond 64 bits: orjson would read it back as a float


async def test_a_finished_history_pages_whole_and_keeps_integers_beyond_64_bits(
    console: httpx.AsyncClient,
) -> None:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(30)}
    states["S30"] = {"Type": "Pass", "Result": {"big": BIG}, "End": True}
    machine = await create_machine(console, {"StartAt": "S0", "States": states})
    execution_id = (await start(console, machine, {}))["executionId"]
    await wait_until_done(console, execution_id)
    path = f"/v1/executions/{execution_id}/history"
    whole = await console.get(path, params={"limit": 10_000})
    assert whole.status_code == 200 and whole.headers["content-type"] == "application/json"
    events = whole.json()["events"]
    assert [e["id"] for e in events] == list(range(1, 2 * 31 + 3)) and whole.json()["nextToken"] is None
    assert events[-1]["executionSucceededEventDetails"]["output"] == f'{{"big":{BIG}}}'  # exact, as text
    ids: list[int] = []
    params: dict[str, str | int] = {"limit": 25}
    while True:  # pages of 25, forwards, then the last 5 backwards
        page = (await console.get(path, params=params)).json()
        ids += [e["id"] for e in page["events"]]
        if not page["nextToken"]:
            break
        params["nextToken"] = page["nextToken"]
    assert ids == list(range(1, 2 * 31 + 3))
    backwards = (await console.get(path, params={"limit": 5, "reverseOrder": "true"})).json()
    assert [e["id"] for e in backwards["events"]] == [64, 63, 62, 61, 60] and backwards["nextToken"]
    too_many = await console.get(path, params={"limit": 10_001})
    assert too_many.status_code == 400 and "limit" in too_many.text
