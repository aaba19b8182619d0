"""A Distributed Map that started before map run controls were deployed (Temporal: its history has no
``map-run-controls`` patch marker, as an execution begun under earlier workers) runs to its end the
old way, and UpdateMapRun is refused saying why (the replay side: ``test_replay.py``)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from statemachine import MAP_RUN_CONTROLS
from tests.integration.helpers import create_machine, start, wait_until_done
from workers.host import TemporalHost

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_a_map_run_begun_before_the_deploy_refuses_updates_and_finishes(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TemporalHost, "patched", lambda self, change: change != MAP_RUN_CONTROLS)
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}},
    }
    each = {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor, "End": True}
    name = await create_machine(api, {"StartAt": "Each", "States": {"Each": each}})
    execution = (await start(api, name, list(range(3))))["executionId"]
    for _ in range(200):
        if runs := (await api.get(f"/v1/executions/{execution}/map-runs")).json()["mapRuns"]:
            break
        await asyncio.sleep(0.05)
    arn = runs[0]["mapRunArn"]
    refused = await api.patch("/v1/map-runs", params={"mapRunArn": arn}, json={"maxConcurrency": 3})
    assert refused.status_code == 400 and "started before this version" in refused.text, refused.text
    done = await wait_until_done(api, execution, seconds=30)
    assert done["status"] == "SUCCEEDED" and done["output"] == [0, 1, 2], done
    run = (await api.get("/v1/map-runs", params={"mapRunArn": arn})).json()
    assert run["status"] == "SUCCEEDED" and run["maxConcurrency"] == 1, run
    assert run["executionCounts"]["succeeded"] == 3, run
