"""Executions end to end: the API, a real worker, Temporal and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from foundation.registry import executions as registry
from foundation.registry.database import SessionMaker, create_engine, session_maker, unit_of_work
from statemachine import EXECUTION_ROLE_ARN, execution_arn
from tests.integration.functions import TestInvoker
from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

FIVE_STATES = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"a.$": "$.x", "b": 2}, "Next": "Big?"},
        "Big?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "NumericGreaterThan": 100, "Next": "Done"}],
            "Default": "Add",
        },
        "Add": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:local:000000000000:function:add",
            "Next": "Shape",
        },
        "Shape": {"Type": "Pass", "Parameters": {"sum.$": "$"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}


async def test_execution_succeeds_with_output_and_history(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, FIVE_STATES)
    started = await start(api, machine, {"x": 40})
    assert started["status"] == "RUNNING"
    done = await wait_until_done(api, started["executionId"])
    assert (done["status"], done["output"], done["input"]) == ("SUCCEEDED", {"sum": 42}, {"x": 40})
    assert done["stopDate"] >= done["startDate"]
    events = await all_history(api, started["executionId"], limit=3)
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert {"TaskSucceeded", "LambdaFunctionSucceeded"} & set(types)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    # as GetExecutionHistory: input/output/parameters are JSON text; the role and ARNs share one region
    assert events[0]["executionStartedEventDetails"]["input"] == '{"x":40}'
    assert events[0]["executionStartedEventDetails"]["roleArn"] == EXECUTION_ROLE_ARN
    assert events[-1]["executionSucceededEventDetails"]["output"] == '{"sum":42}'
    assert started["executionArn"] == execution_arn(machine, started["name"])
    backwards = await all_history(api, started["executionId"], limit=4, reverseOrder=True)
    assert backwards == list(reversed(events))


async def test_function_error_fails_the_execution_with_its_type(api: httpx.AsyncClient) -> None:
    definition = {
        "StartAt": "Boom",
        "States": {
            "Boom": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:fail",
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, {"errorType": "Oops"}))["executionId"])
    assert (done["status"], done["error"]) == ("FAILED", "Oops")


async def test_task_timeout_is_states_timeout(api: httpx.AsyncClient) -> None:
    definition = {
        "StartAt": "Slow",
        "States": {
            "Slow": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:sleep",
                "TimeoutSeconds": 1,
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, {"seconds": 5}))["executionId"])
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")


async def test_heartbeat_task_runs_as_an_activity(api: httpx.AsyncClient) -> None:
    definition = {
        "StartAt": "Beat",
        "States": {
            "Beat": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:sleep",
                "TimeoutSeconds": 10,
                "HeartbeatSeconds": 2,
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, {"seconds": 0.2}))["executionId"])
    assert (done["status"], done["output"]) == ("SUCCEEDED", {"seconds": 0.2})


async def test_retry_then_catch_on_throttling(api: httpx.AsyncClient, test_functions: TestInvoker) -> None:
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:local:000000000000:function:throttle",
                "Retry": [
                    {
                        "ErrorEquals": ["Lambda.TooManyRequestsException"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 2,
                        "BackoffRate": 1,
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fallback"}],
                "End": True,
            },
            "Fallback": {"Type": "Pass", "Result": "caught", "End": True},
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine))["executionId"])
    assert (done["status"], done["output"]) == ("SUCCEEDED", "caught")
    assert test_functions.calls["throttle"] == 3


async def test_history_while_running_then_stop_aborts(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, WAIT)
    execution = (await start(api, machine, {"k": 1}))["executionId"]
    for _ in range(100):
        events = await all_history(api, execution)
        if any(e["type"] == "WaitStateEntered" for e in events):
            break
        await asyncio.sleep(0.05)
    assert [e["type"] for e in events][:2] == ["ExecutionStarted", "WaitStateEntered"]
    assert events[1]["stateEnteredEventDetails"]["input"] == '{"k":1}'  # from the workflow query
    stopped = await api.post(f"/v1/executions/{execution}/stop", json={"error": "Manual", "cause": "test"})
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "ABORTED"
    done = (await api.get(f"/v1/executions/{execution}")).json()
    assert (done["status"], done["error"], done["cause"]) == ("ABORTED", "Manual", "test")
    events = await all_history(api, execution)
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Manual", "cause": "test"}


async def test_execution_timeout_is_timed_out(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, {**WAIT, "TimeoutSeconds": 1})
    done = await wait_until_done(api, (await start(api, machine))["executionId"])
    assert (done["status"], done["error"]) == ("TIMED_OUT", "States.Timeout")


async def test_start_by_name_is_idempotent_and_conflicts_on_other_input(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, WAIT)
    name = unique("run")
    first = await start(api, machine, {"a": 1}, name=name)
    again = await start(api, machine, {"a": 1}, name=name)
    assert again["executionId"] == first["executionId"] == f"{machine}:{name}"
    assert again["startDate"] == first["startDate"]
    other = await api.post(f"/v1/state-machines/{machine}/executions", json={"input": {"a": 2}, "name": name})
    assert other.status_code == 409
    await api.post(f"/v1/executions/{first['executionId']}/stop", json={})


async def test_running_executions_keep_their_version(api: httpx.AsyncClient) -> None:
    gated: dict[str, Any] = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 1, "Next": "V"},
            "V": {"Type": "Pass", "Result": "v1", "End": True},
        },
    }
    machine = await create_machine(api, gated)
    execution = (await start(api, machine))["executionId"]
    gated["States"]["V"]["Result"] = "v2"
    assert (await api.put(f"/v1/state-machines/{machine}", json={"definition": gated})).status_code == 200
    done = await wait_until_done(api, execution)
    assert (done["output"], done["version"]) == ("v1", 1)


async def test_input_over_256_kib_is_413(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, WAIT)
    response = await api.post(f"/v1/state-machines/{machine}/executions", json={"input": "x" * 262_200})
    assert response.status_code == 413


async def test_input_as_json_text_like_step_functions_takes_it(api: httpx.AsyncClient) -> None:
    """``inputText`` is checked as StartExecution checks its ``input`` string, with AWS's code and
    words; it cannot come with ``input``; over 256 KiB it is 413 like ``input``."""
    machine = await create_machine(api, FIVE_STATES)
    url = f"/v1/state-machines/{machine}/executions"
    started = await api.post(url, json={"inputText": '{"x": 500}'})
    assert started.status_code == 201, started.text
    done = await wait_until_done(api, started.json()["executionId"])
    assert (done["status"], done["input"], done["output"]) == ("SUCCEEDED", {"x": 500}, {"a": 500, "b": 2})
    for text, reason in [
        ("{'not': 'json'", "Unexpected character"),
        ("not some json", "Unrecognized token 'not'"),
        ("", "Invalid execution input."),
    ]:
        refused = await api.post(url, json={"inputText": text})
        assert refused.status_code == 400, text
        problem = refused.json()
        assert problem["errors"][0]["code"] == "InvalidExecutionInput"
        assert problem["errors"][0]["location"] == "/inputText"
        assert reason in problem["detail"]
    both = await api.post(url, json={"input": {"x": 1}, "inputText": '{"x": 1}'})
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    big = await api.post(url, json={"inputText": '"' + "x" * 262_200 + '"'})
    assert big.status_code == 413


async def test_inputs_json_cannot_carry_are_400_and_start_nothing(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, FIVE_STATES)
    url = f"/v1/state-machines/{machine}/executions"
    headers = {"content-type": "application/json"}
    for body, says in [
        (b'{"input": {"x": NaN}}', "cannot carry"),
        (b'{"input": 1e999}', "cannot carry"),
        (b'{"input": "\\udc00"}', "not valid Unicode"),
        (b'{"inputText": "[Infinity]"}', "Non-standard token 'Infinity'"),
    ]:
        response = await api.post(url, content=body, headers=headers)
        assert response.status_code == 400 and says in response.json()["detail"], body
    listed = (await api.get("/v1/executions", params={"stateMachine": machine})).json()
    assert listed["executions"] == []


async def test_unknown_machine_and_execution_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/state-machines/none-such/executions", json={})).status_code == 404
    assert (await api.get("/v1/executions/none:such")).status_code == 404
    assert (await api.get("/v1/executions/none:such/history")).status_code == 404
    assert (await api.post("/v1/executions/none:such/stop", json={})).status_code == 404


async def test_list_filters_and_pages(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    ids = {(await start(api, machine, {"i": i}))["executionId"] for i in range(5)}
    for execution in ids:
        await wait_until_done(api, execution)
    seen: list[str] = []
    token = None
    while True:
        params: dict[str, str | int] = {"stateMachine": machine, "status": "SUCCEEDED", "limit": 2}
        page = (
            await api.get("/v1/executions", params=params | ({"nextToken": token} if token else {}))
        ).json()
        seen += [e["executionId"] for e in page["executions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    running = (await api.get("/v1/executions", params={"stateMachine": machine, "status": "RUNNING"})).json()
    assert running["executions"] == []


async def test_sync_execution_of_express_machine(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, FIVE_STATES, type="EXPRESS")
    url = f"/v1/state-machines/{machine}/sync-executions"
    for body in ({"input": {"x": 1}}, {"inputText": '{"x": 1}'}):
        response = await api.post(url, json=body)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["output"]) == ("SUCCEEDED", {"sum": 3})
    refused = await api.post(url, json={"inputText": "[1,"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "InvalidExecutionInput"


async def test_sync_executions_draw_fresh_uuids_and_read_the_wall_clock(api: httpx.AsyncClient) -> None:
    draw = {"id.$": "States.UUID()", "n.$": "States.MathRandom(0, 99999999)", "at.$": "$$.State.EnteredTime"}
    definition = {"StartAt": "Draw", "States": {"Draw": {"Type": "Pass", "Parameters": draw, "End": True}}}
    machine = await create_machine(api, definition, type="EXPRESS")
    outputs = []
    for _ in range(2):
        before = datetime.now(UTC)
        response = await api.post(f"/v1/state-machines/{machine}/sync-executions", json={"input": {}})
        assert response.status_code == 200, response.text
        output = response.json()["output"]
        entered = datetime.fromisoformat(output["at"].replace("Z", "+00:00"))
        assert before.replace(microsecond=0) <= entered <= datetime.now(UTC)
        outputs.append(output)
    assert outputs[0]["id"] != outputs[1]["id"]
    assert outputs[0]["n"] != outputs[1]["n"]


async def test_sync_executions_run_the_latest_version_and_404_once_deleted(api: httpx.AsyncClient) -> None:
    """The version is read on every execution (compiled programs are cached by definition text)."""

    def returning(value: int) -> dict[str, Any]:
        return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": value, "End": True}}}

    machine = await create_machine(api, returning(1), type="EXPRESS")
    url = f"/v1/state-machines/{machine}/sync-executions"
    first = (await api.post(url, json={"input": {}})).json()
    assert (first["version"], first["output"]) == (1, 1)
    updated = await api.put(f"/v1/state-machines/{machine}", json={"definition": returning(2)})
    assert updated.status_code == 200, updated.text
    second = (await api.post(url, json={"input": {}})).json()
    assert (second["version"], second["output"]) == (2, 2)
    assert (await api.delete(f"/v1/state-machines/{machine}")).status_code == 204
    gone = await api.post(url, json={"input": {}})
    assert gone.status_code == 404 and machine in gone.json()["detail"]
    again = {"name": machine, "definition": returning(3), "type": "EXPRESS"}
    assert (await api.post("/v1/state-machines", json=again)).status_code == 201
    third = (await api.post(url, json={"input": {}})).json()
    assert (third["version"], third["output"]) == (1, 3)


async def test_sync_execution_of_standard_machine_is_refused(api: httpx.AsyncClient) -> None:
    machine = await create_machine(api, FIVE_STATES)
    response = await api.post(f"/v1/state-machines/{machine}/sync-executions", json={"input": {}})
    assert response.status_code == 400
    assert "StateMachineTypeNotSupported" in response.json()["detail"]


async def test_parallel_and_map_run_in_the_workflow(api: httpx.AsyncClient) -> None:
    add = "arn:aws:lambda:local:000000000000:function:add"
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "MaxConcurrency": 2,
                                "ItemSelector": {"a.$": "$$.Map.Item.Value", "b": 10},
                                "ItemProcessor": {
                                    "StartAt": "Add",
                                    "States": {"Add": {"Type": "Task", "Resource": add, "End": True}},
                                },
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": True}}},
                ],
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, [1, 2, 3]))["executionId"])
    assert (done["status"], done["output"]) == ("SUCCEEDED", [[11, 12, 13], [1, 2, 3]])


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionMaker]:
    """Sessions on the test database, for tests of the registry and activities without a worker."""
    engine = create_engine(database_url, 2)
    yield session_maker(engine)
    await engine.dispose()


async def running_execution(sessions: SessionMaker) -> str:
    """A RUNNING execution row, as the API inserts it before starting the workflow; its id."""
    row = registry.Execution(
        id=f"m:{unique('e')}", name="e", state_machine_name="m", state_machine_version=1,
        status="RUNNING", input="{}", start_date=datetime.now(UTC),
    )  # fmt: skip
    async with unit_of_work(sessions) as session:
        await registry.insert_execution(session, row)
    return row.id


async def test_finish_writes_history_and_outcome_once_and_fails_for_unknown_executions(
    sessions: SessionMaker,
) -> None:
    """The finish activity's single statement: events and outcome together, idempotent on retry."""
    from workers.activities import Activities
    from workers.contracts import ExecutionResult, FinishRequest

    execution_id = await running_execution(sessions)
    events = '[{"id":1,"type":"ExecutionStarted"},{"id":2,"type":"ExecutionSucceeded"}]'
    request = FinishRequest(
        execution_id, ExecutionResult("SUCCEEDED", '{"a":1}'), datetime.now(UTC).isoformat(), events
    )
    activities = Activities(sessions, None)
    await activities.finish_execution(request)
    await activities.finish_execution(request)  # a retry changes nothing
    async with unit_of_work(sessions) as session:
        done = await registry.get_execution(session, execution_id)
        stored = await registry.history_page(session, execution_id, 10, None, False)
    assert (done.status, done.output, done.stop_date is not None) == ("SUCCEEDED", '{"a":1}', True)
    assert [e["type"] for e in stored] == ["ExecutionStarted", "ExecutionSucceeded"]
    with pytest.raises(registry.ExecutionNotFound):
        await activities.finish_execution(FinishRequest("m:none", request.result, request.stop_date, "[]"))


async def test_history_pages_cross_chunk_boundaries_both_ways(sessions: SessionMaker) -> None:
    """A history stored as several chunks reads as one sequence, forwards and backwards, in pages
    that start and end inside chunks; a chunk written twice (a retried activity) is stored once."""
    execution_id = await running_execution(sessions)
    bounds = [(1, 3), (4, 4), (5, 11), (12, 12), (13, 19), (20, 20), (21, 24), (25, 30)]
    for first, last in bounds + bounds[:2]:
        events = json.dumps([{"id": i, "type": "X"} for i in range(first, last + 1)])
        async with unit_of_work(sessions) as session:
            await registry.add_history_events(session, execution_id, events)
        async with unit_of_work(sessions) as session:
            await registry.add_history_events(session, execution_id, "[]")

    async def read(limit: int, reverse: bool) -> list[int]:
        seen: list[int] = []
        after: int | None = None
        while True:
            async with unit_of_work(sessions) as session:
                page = await registry.history_page(session, execution_id, limit, after, reverse)
            seen += [e["id"] for e in page]
            if len(page) < limit:
                return seen
            after = page[-1]["id"]

    ids = list(range(1, 31))
    for limit in (1, 2, 5, 7, 100):
        assert await read(limit, reverse=False) == ids, limit
        assert await read(limit, reverse=True) == ids[::-1], limit


async def test_a_dropped_database_connection_costs_a_sync_execution_one_request(
    api: httpx.AsyncClient, database_url: str
) -> None:
    """The sync executions' own read (``get_runnable``) fails like every other: 503 (or 200 when the
    function logs' background batch found a dropped connection first and the pool reconnected), then
    the pool serves every request again; never a 500."""
    import asyncpg

    machine = await create_machine(api, FIVE_STATES, type="EXPRESS")
    url = f"/v1/state-machines/{machine}/sync-executions"
    for _ in range(3):
        assert (await api.post(url, json={"input": {"x": 1}})).status_code == 200
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    first = await api.post(url, json={"input": {"x": 1}})
    assert first.status_code in (200, 503), first.text
    if first.status_code == 503:
        assert first.json()["detail"] == "the database connection was lost; retry the request"
    assert [(await api.post(url, json={"input": {"x": 1}})).status_code for _ in range(3)] == [200] * 3


async def test_a_dropped_database_connection_costs_one_request(
    api: httpx.AsyncClient, database_url: str
) -> None:
    """Without pre-ping (three round trips a checkout), a connection PostgreSQL dropped fails the one
    request that finds it (503, not 500), and the pool reconnects for the next."""
    import asyncpg

    machine = await create_machine(api, WAIT)
    for _ in range(3):
        assert (await api.get(f"/v1/state-machines/{machine}")).status_code == 200
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    first = await api.get(f"/v1/state-machines/{machine}")
    assert first.status_code == 503, first.text
    assert first.json()["detail"] == "the database connection was lost; retry the request"
    assert [(await api.get(f"/v1/state-machines/{machine}")).status_code for _ in range(3)] == [200] * 3
