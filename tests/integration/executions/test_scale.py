"""Large executions stay within Temporal's limits.

The issue's sizes (a 10,000-item Map, 5,000 sequential Tasks) take minutes on a busy 2-core machine,
so by default this runs a tenth of each and checks that Temporal's history grows slowly enough for
the full size to fit (a large Map's iterations run in chunk child workflows of bounded size);
``STEPLINE_SCALE_ITEMS=10000 STEPLINE_SCALE_TASKS=5000`` runs the full sizes.
"""

from __future__ import annotations

import os
import time

import httpx
import pytest
from temporalio.client import Client

from tests.integration.helpers import all_history, create_machine, start, wait_until_done

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("worker")]

TEMPORAL_EVENT_LIMIT = 51_200
"""Temporal terminates a workflow whose history reaches this many events."""
ITEMS = int(os.environ.get("STEPLINE_SCALE_ITEMS", "1000"))
TASKS = int(os.environ.get("STEPLINE_SCALE_TASKS", "500"))
ADD = "arn:aws:lambda:local:000000000000:function:add"


async def temporal_events(client: Client, execution_id: str) -> int:
    """Events once the workflow has closed (the outcome reaches PostgreSQL a workflow task earlier)."""
    handle = client.get_workflow_handle(execution_id)
    await handle.result()
    return len((await handle.fetch_history()).events)


async def child_events(client: Client, execution_id: str) -> list[int]:
    """The history length of every child workflow (a large Map's chunks) the execution started."""
    history = await client.get_workflow_handle(execution_id).fetch_history()
    children = [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in history.events
        if e.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]
    return [await temporal_events(client, child) for child in children]


async def test_wide_map_history_fits_10000_items(api: httpx.AsyncClient, temporal_client: Client) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 200,
                "ItemProcessor": {
                    "StartAt": "Add",
                    "States": {"Add": {"Type": "Task", "Resource": ADD, "End": True}},
                },
                "ItemSelector": {"a.$": "$$.Map.Item.Value", "b": 1},
                "ResultSelector": {"count.$": "States.ArrayLength($)", "last.$": f"$[{ITEMS - 1}]"},
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    began = time.monotonic()
    execution = (await start(api, machine, list(range(ITEMS))))["executionId"]
    done = await wait_until_done(api, execution, seconds=max(120, ITEMS / 20))
    elapsed = time.monotonic() - began
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"count": ITEMS, "last": ITEMS}), done
    events = await temporal_events(temporal_client, execution)
    chunks = await child_events(temporal_client, execution)
    print(
        f"\n{ITEMS}-item Map: {elapsed:.1f} s, {events} Temporal history events, "
        f"{len(chunks)} chunk workflows of at most {max(chunks, default=0)} events"
    )
    # Chunks of 250 iterations run as child workflows: no history grows with the item count
    # beyond the parent's few events per chunk.
    assert len(chunks) == -(-ITEMS // 250)
    assert max(chunks) < 1_500
    assert events * 10_000 / ITEMS < 1_500


async def test_sequential_tasks_history_fits_5000(api: httpx.AsyncClient, temporal_client: Client) -> None:
    definition = {
        "StartAt": "Add",
        "States": {
            "Add": {"Type": "Task", "Resource": ADD, "Parameters": {"a.$": "$", "b": 1}, "Next": "More?"},
            "More?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericLessThan": TASKS, "Next": "Add"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    machine = await create_machine(api, definition)
    began = time.monotonic()
    execution = (await start(api, machine, 0))["executionId"]
    done = await wait_until_done(api, execution, seconds=max(120, TASKS / 10))
    elapsed = time.monotonic() - began
    assert (done["status"], done["output"]) == ("SUCCEEDED", TASKS), done
    events = await temporal_events(temporal_client, execution)
    print(f"\n{TASKS} sequential Tasks: {elapsed:.1f} s, {events} Temporal history events")
    assert events * 5_000 / TASKS < TEMPORAL_EVENT_LIMIT / 2
    # Its Step Functions history (7 events a round, more than one 512 KiB chunk in PostgreSQL)
    # reads back whole and in order, either way.
    stored = await all_history(api, execution, limit=1000)
    assert [e["id"] for e in stored] == list(range(1, 7 * TASKS + 5))  # + start, Succeed x2, end
    assert (stored[0]["type"], stored[-1]["type"]) == ("ExecutionStarted", "ExecutionSucceeded")
    assert await all_history(api, execution, limit=1000, reverseOrder=True) == stored[::-1]
