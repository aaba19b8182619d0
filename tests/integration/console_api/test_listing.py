"""Executions across machines with filters and paging, and counts by status for the machines list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.helpers import create_machine, start, wait_until_done

PASSING = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
FAILING = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}}


async def test_filters_by_machine_status_and_start_time_with_paging(
    api: httpx.AsyncClient, worker: None
) -> None:
    good, bad = await create_machine(api, PASSING), await create_machine(api, FAILING)
    before = datetime.now(UTC)
    ids = [(await start(api, good, {"i": i}))["executionId"] for i in range(3)]
    ids += [(await start(api, bad, {}))["executionId"] for _ in range(2)]
    for execution_id in ids:
        await wait_until_done(api, execution_id)
    after = datetime.now(UTC)

    failed = (await api.get("/v1/executions", params={"stateMachine": bad, "status": "FAILED"})).json()
    assert sorted(e["executionId"] for e in failed["executions"]) == sorted(ids[3:])

    window: dict[str, str | int] = {
        "startedAfter": before.isoformat(), "startedBefore": after.isoformat(), "limit": 2
    }  # fmt: skip
    pages: list[list[dict[str, str]]] = []
    token: str | None = None
    while True:
        params = window | ({"nextToken": token} if token else {})
        page = (await api.get("/v1/executions", params=params)).json()
        pages.append(page["executions"])
        token = page.get("nextToken")
        if not token:
            break
    seen = [e["executionId"] for p in pages for e in p]
    assert sorted(seen) == sorted(ids)  # all five, across machines, no duplicates
    assert [len(p) for p in pages] == [2, 2, 1]
    starts = [e["startDate"] for p in pages for e in p]
    assert starts == sorted(starts, reverse=True)

    later = (after + timedelta(seconds=1)).isoformat()
    assert (await api.get("/v1/executions", params={"startedAfter": later})).json()["executions"] == []
    naive = before.replace(tzinfo=None).isoformat()  # read as UTC
    assert len((await api.get("/v1/executions", params={"startedAfter": naive, "stateMachine": good})).json()[
        "executions"
    ]) == 3  # fmt: skip


async def test_counts_by_status_per_machine(api: httpx.AsyncClient, worker: None) -> None:
    good, bad = await create_machine(api, PASSING), await create_machine(api, FAILING)
    idle = await create_machine(api, PASSING)
    for execution_id in [(await start(api, good, {}))["executionId"] for _ in range(2)]:
        await wait_until_done(api, execution_id)
    await wait_until_done(api, (await start(api, bad, {}))["executionId"])

    every = (await api.get("/v1/execution-counts")).json()["stateMachines"]
    by_name = {m["name"]: m for m in every}
    assert by_name[good]["counts"] == {
        "RUNNING": 0,
        "SUCCEEDED": 2,
        "FAILED": 0,
        "TIMED_OUT": 0,
        "ABORTED": 0,
    }
    assert by_name[good]["total"] == 2
    assert by_name[bad]["counts"]["FAILED"] == 1
    assert idle not in by_name  # machines without executions are left out of the whole listing

    one = (await api.get("/v1/execution-counts", params={"stateMachine": idle})).json()
    assert one == {"stateMachines": [{"name": idle, "total": 0, "counts": dict.fromkeys(
        ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"], 0)}]}  # fmt: skip
    missing = await api.get("/v1/execution-counts", params={"stateMachine": "no-such-machine"})
    assert missing.status_code == 404


async def test_bad_filters_are_400_naming_the_parameter(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/executions", params={"startedAfter": "yesterday"})
    assert response.status_code == 400 and "startedAfter" in response.text
    response = await api.get("/v1/executions", params={"status": "DONE"})
    assert response.status_code == 400 and "status" in response.text
