"""Large executions stay within Temporal's limits: a 10,000-item Map and 5,000 sequential Tasks."""

from __future__ import annotations

import time

import httpx
import pytest
from temporalio.client import Client

from tests.integration.helpers import create_machine, start, wait_until_done

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("worker")]

TEMPORAL_EVENT_LIMIT = 51_200
"""Temporal terminates a workflow whose history reaches this many events."""


async def temporal_events(client: Client, execution_id: str) -> int:
    history = await client.get_workflow_handle(execution_id).fetch_history()
    return len(history.events)


async def test_map_over_10000_items(api: httpx.AsyncClient, temporal_client: Client) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 200,
                "ItemProcessor": {
                    "StartAt": "Add",
                    "States": {
                        "Add": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:local:000000000000:function:add",
                            "End": True,
                        }
                    },
                },
                "ItemSelector": {"a.$": "$$.Map.Item.Value", "b": 1},
                "ResultSelector": {"count.$": "States.ArrayLength($)", "last.$": "$[9999]"},
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    began = time.monotonic()
    execution = (await start(api, machine, list(range(10_000))))["executionId"]
    done = await wait_until_done(api, execution, seconds=240)
    elapsed = time.monotonic() - began
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"count": 10_000, "last": 10_000}), done
    events = await temporal_events(temporal_client, execution)
    print(f"10,000-item Map: {elapsed:.1f} s, {events} Temporal history events")
    assert events < TEMPORAL_EVENT_LIMIT * 0.8


async def test_5000_sequential_tasks(api: httpx.AsyncClient, temporal_client: Client) -> None:
    definition = {
        "StartAt": "Add",
        "States": {
            "Add": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:add",
                "Parameters": {"a.$": "$", "b": 1},
                "Next": "More?",
            },
            "More?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericLessThan": 5000, "Next": "Add"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    machine = await create_machine(api, definition)
    began = time.monotonic()
    execution = (await start(api, machine, 0))["executionId"]
    done = await wait_until_done(api, execution, seconds=240)
    elapsed = time.monotonic() - began
    assert (done["status"], done["output"]) == ("SUCCEEDED", 5000), done
    events = await temporal_events(temporal_client, execution)
    print(f"5,000 sequential Tasks: {elapsed:.1f} s, {events} Temporal history events")
    assert events < TEMPORAL_EVENT_LIMIT * 0.8
