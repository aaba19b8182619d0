"""A Distributed Map survives its worker's ``kill -9`` mid-run: a new worker replays the parent and
its chunk workflows, every batch runs once to the end, and the map run reads SUCCEEDED with its
counts."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable

import httpx
import pytest
from temporalio.client import Client

from tests.integration.executions.test_durability import assert_consistent, worker_processes
from tests.integration.executions.test_map_chunks import chunk_statuses
from tests.integration.helpers import all_history, create_machine, start, wait_until_done
from tests.integration.processes import kill

__all__ = ["worker_processes"]  # a fixture, shared with the crash tests

pytestmark = [pytest.mark.integration]

ITEMS = 3_000
"""In batches of 10: 300 child runs, above ``Limits.map_offload_min_items``: two chunk workflows."""


async def test_worker_killed_mid_distributed_map(
    api: httpx.AsyncClient,
    temporal_client: Client,
    worker_processes: Callable[[], subprocess.Popen[bytes]],
) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemBatcher": {"MaxItemsPerBatch": 10},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Sum"},
                        "Sum": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "States.ArrayLength($.Items)", "first.$": "$.Items[0]"},
                            "End": True,
                        },
                    },
                },
                "End": True,
            }
        },
    }
    first = worker_processes()
    name = await create_machine(api, definition)
    execution = (await start(api, name, list(range(ITEMS))))["executionId"]
    for _ in range(200):
        if len(await chunk_statuses(temporal_client, execution)) == 2:
            break
        await asyncio.sleep(0.1)
    kill(first)
    worker_processes()
    done = await wait_until_done(api, execution, seconds=120)
    assert done["status"] == "SUCCEEDED", done
    assert [(batch["n"], batch["first"]) for batch in done["output"]] == [
        (10, i) for i in range(0, ITEMS, 10)
    ]
    events = await all_history(api, execution, limit=1000)
    assert_consistent(events)
    types = [e["type"] for e in events]
    assert types.count("MapRunStarted") == 1 and types.count("MapRunSucceeded") == 1
    runs = (await api.get(f"/v1/executions/{execution}/map-runs")).json()["mapRuns"]
    assert len(runs) == 1 and runs[0]["status"] == "SUCCEEDED"
    assert runs[0]["executionCounts"]["succeeded"] == ITEMS // 10
    assert runs[0]["itemCounts"]["succeeded"] == ITEMS
