"""A state machine that nests its own data deeper each turn, run durably: it must end, never stick."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from statemachine.dataflow import MAX_DATA_DEPTH
from tests.integration.helpers import create_machine, start, wait_until_done
from tests.security.test_api_input import LOOP


def loop(turns: int) -> dict[str, Any]:
    definition: dict[str, Any] = copy.deepcopy(LOOP)
    definition["States"]["Again"]["Choices"][0]["NumericLessThan"] = turns
    return definition


@pytest.mark.usefixtures("worker")
async def test_output_nested_past_every_limit_fails_the_execution_not_its_workflow(
    api: httpx.AsyncClient,
) -> None:
    name = await create_machine(api, loop(1200))
    execution = await start(api, name, {"n": 0, "v": 1})
    done = await wait_until_done(api, execution["executionId"], seconds=60)
    assert done["status"] == "FAILED", done
    assert done["error"] == "States.Runtime" and "levels deep" in done["cause"]
    history = await api.get(f"/v1/executions/{execution['executionId']}/history", params={"limit": 5})
    assert history.status_code == 200, history.text


@pytest.mark.usefixtures("worker")
async def test_output_nested_just_within_the_limit_runs_and_reads_back(api: httpx.AsyncClient) -> None:
    turns = MAX_DATA_DEPTH - 2  # the output nests turns + 1 levels under {"n", "v"}: the limit exactly
    name = await create_machine(api, loop(turns))
    execution = await start(api, name, {"n": 0, "v": 1})
    done = await wait_until_done(api, execution["executionId"], seconds=120)
    assert done["status"] == "SUCCEEDED", done
    value, depth = done["output"]["v"], 1
    while isinstance(value, dict):
        value, depth = value["w"], depth + 1
    assert depth == turns + 1 and value == 1
