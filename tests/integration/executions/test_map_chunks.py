"""Large Maps run their iterations in ``MapChunk`` child workflows: same results as inline, and a
failed or stopped Map cancels its chunks."""

from __future__ import annotations

import asyncio
import subprocess
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from statemachine import JSON, run_local
from tests.integration.executions.test_durability import assert_consistent, worker_processes
from tests.integration.functions import TestInvoker
from tests.integration.helpers import all_history, create_machine, start, wait_until_done
from tests.integration.processes import kill

__all__ = ["worker_processes"]  # a fixture, shared with the crash tests

pytestmark = [pytest.mark.integration]

ITEMS = 300
"""Above ``Limits.map_offload_min_items`` (200): two chunks of at most 250."""
FN = "arn:aws:lambda:local:000000000000:function:"


def machine(**map_fields: Any) -> dict[str, Any]:
    """A Map calling ``fail`` for items with ``bad``, ``sleep`` for items with ``seconds``, else ``add``."""
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Which",
                    "States": {
                        "Which": {
                            "Type": "Choice",
                            "Choices": [
                                {"Variable": "$.bad", "IsPresent": True, "Next": "Fail"},
                                {"Variable": "$.seconds", "IsPresent": True, "Next": "Sleep"},
                            ],
                            "Default": "Add",
                        },
                        "Fail": {"Type": "Task", "Resource": FN + "fail", "End": True},
                        "Sleep": {"Type": "Task", "Resource": FN + "sleep", "End": True},
                        "Add": {"Type": "Task", "Resource": FN + "add", "End": True},
                    },
                },
                **map_fields,
                "End": True,
            }
        },
    }


async def chunk_statuses(client: Client, execution_id: str) -> list[WorkflowExecutionStatus | None]:
    history = await client.get_workflow_handle(execution_id).fetch_history()
    ids = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    return [(await client.get_workflow_handle(i).describe()).status for i in ids]


@pytest.mark.usefixtures("worker")
async def test_tolerated_failures_match_the_inline_run(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    definition = machine(ToleratedFailureCount=3, MaxConcurrency=20)
    items: list[JSON] = [
        {"a": i, "b": 1, **({"bad": True} if i in (5, 150, 290) else {})} for i in range(ITEMS)
    ]
    name = await create_machine(api, definition)
    execution = (await start(api, name, items))["executionId"]
    done = await wait_until_done(api, execution, seconds=120)
    inline = await run_local(definition, items, invoker=TestInvoker().invoke_for_state_machine)
    assert done["status"] == inline.outcome.status == "SUCCEEDED", done
    assert done["output"] == inline.outcome.output
    assert done["output"][150]["Error"] == "CustomError"
    assert await chunk_statuses(temporal_client, execution) == [WorkflowExecutionStatus.COMPLETED] * 2
    types = Counter(e["type"] for e in await all_history(api, execution, limit=1000))
    assert (types["MapIterationStarted"], types["MapIterationSucceeded"], types["MapIterationFailed"]) == (
        300,
        297,
        3,
    )


@pytest.mark.usefixtures("worker")
async def test_a_failed_map_cancels_its_chunks(api: httpx.AsyncClient, temporal_client: Client) -> None:
    items: list[dict[str, Any]] = [{"seconds": 60}] * ITEMS
    items[0] = {"bad": True}
    name = await create_machine(api, machine(MaxConcurrency=4))
    execution = (await start(api, name, items))["executionId"]
    done = await wait_until_done(api, execution, seconds=45)
    assert (done["status"], done["error"]) == ("FAILED", "CustomError"), done
    await temporal_client.get_workflow_handle(execution).result()
    # The first chunk stops itself at its failure; the second is cancelled mid-way.
    assert await chunk_statuses(temporal_client, execution) == [
        WorkflowExecutionStatus.COMPLETED,
        WorkflowExecutionStatus.CANCELED,
    ]


@pytest.mark.usefixtures("worker")
async def test_stopping_the_execution_cancels_its_chunks(
    api: httpx.AsyncClient, temporal_client: Client
) -> None:
    name = await create_machine(api, machine(MaxConcurrency=10))
    execution = (await start(api, name, [{"seconds": 60}] * ITEMS))["executionId"]
    for _ in range(200):
        if len(await chunk_statuses(temporal_client, execution)) == 2:
            break
        await asyncio.sleep(0.1)
    stopped = await api.post(f"/v1/executions/{execution}/stop", json={"error": "Manual"})
    assert stopped.status_code == 200, stopped.text
    done = await wait_until_done(api, execution, seconds=45)
    assert done["status"] == "ABORTED", done
    await temporal_client.get_workflow_handle(execution).result()
    assert await chunk_statuses(temporal_client, execution) == [WorkflowExecutionStatus.CANCELED] * 2


@pytest.mark.slow
async def test_worker_killed_mid_chunk(
    api: httpx.AsyncClient,
    temporal_client: Client,
    worker_processes: Callable[[], subprocess.Popen[bytes]],
) -> None:
    """A worker dies while both chunks wait; a new worker replays parent and chunks and finishes."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Double"},
                        "Double": {
                            "Type": "Pass",
                            "Parameters": {"n.$": "States.MathAdd($, $)"},
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
    done = await wait_until_done(api, execution, seconds=90)
    assert (done["status"], done["output"]) == ("SUCCEEDED", [{"n": 2 * i} for i in range(ITEMS)]), done
    events = await all_history(api, execution, limit=1000)
    assert_consistent(events)
    assert [e["type"] for e in events].count("MapIterationSucceeded") == ITEMS


@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("count", [ITEMS, 20], ids=["in-chunks", "in-the-parent"])
async def test_a_redriven_distributed_map_reruns_only_what_did_not_succeed(
    api: httpx.AsyncClient, test_functions: TestInvoker, count: int
) -> None:
    """Items one at a time (300: in chunk workflows; 20: in the parent); the last fails once. The
    redrive runs that one only: every other item called its function once in all."""
    definition = machine(MaxConcurrency=1)
    processor = definition["States"]["Each"]["ItemProcessor"]
    processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    processor["States"]["Fail"]["Resource"] = FN + "fail_once"
    items: list[JSON] = [{"a": i, "b": 1} for i in range(count - 1)]
    items.append({"bad": count})
    name = await create_machine(api, definition)
    execution = (await start(api, name, items))["executionId"]
    first = await wait_until_done(api, execution, seconds=120)
    assert (first["status"], first["error"]) == ("FAILED", "FirstTime"), first
    assert test_functions.calls["add"] == count - 1
    assert (await api.post(f"/v1/executions/{execution}/redrive")).status_code == 200
    again = await wait_until_done(api, execution, seconds=60)
    assert again["status"] == "SUCCEEDED", again
    assert again["output"] == [i + 1 for i in range(count - 1)] + [{"bad": count}]
    assert (test_functions.calls["add"], test_functions.calls["fail_once"]) == (count - 1, 2)


@pytest.mark.usefixtures("worker")
async def test_update_map_run_widens_a_running_chunk(api: httpx.AsyncClient, temporal_client: Client) -> None:
    """201 one-second items in one chunk, one at a time (201 s) until PATCH /v1/map-runs allows 250:
    the running chunk takes the new concurrency and the run ends in seconds."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Seconds": 1, "End": True}},
    }
    each = {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor, "End": True}
    name = await create_machine(api, {"StartAt": "Each", "States": {"Each": each}})
    execution = (await start(api, name, list(range(201))))["executionId"]
    for _ in range(200):
        runs = (await api.get(f"/v1/executions/{execution}/map-runs")).json()["mapRuns"]
        if runs and await chunk_statuses(temporal_client, execution):
            break
        await asyncio.sleep(0.05)
    patched = await api.patch(
        "/v1/map-runs", params={"mapRunArn": runs[0]["mapRunArn"]}, json={"maxConcurrency": 250}
    )
    assert patched.status_code == 200 and patched.json()["maxConcurrency"] == 250, patched.text
    done = await wait_until_done(api, execution, seconds=30)
    assert done["status"] == "SUCCEEDED" and done["output"] == list(range(201)), done
    assert await chunk_statuses(temporal_client, execution) == [WorkflowExecutionStatus.COMPLETED]
