"""Step-through of a state, and a Map's iterations, read from real executions' histories."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.helpers import all_history, create_machine, start, wait_until_done

ADD = "arn:aws:lambda:us-east-1:123456789012:function:add"
FAIL = "arn:aws:lambda:us-east-1:123456789012:function:fail"

CHARGE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Assign": {"currency": "EUR"}, "Next": "Charge"},
        "Charge": {
            "Type": "Task",
            "Resource": ADD,
            "InputPath": "$.order",
            "Parameters": {"a.$": "$.price", "b.$": "$.tax"},
            "ResultSelector": {"total.$": "$"},
            "ResultPath": "$.charge",
            "OutputPath": "$.charge",
            "Assign": {"paid.$": "$.total"},
            "Next": "Risky",
        },
        "Risky": {
            "Type": "Task",
            "Resource": FAIL,
            "Parameters": {"errorType": "Declined"},
            "Catch": [{"ErrorEquals": ["Declined"], "ResultPath": "$.failure", "Next": "Done"}],
            "End": True,
        },
        "Done": {"Type": "Succeed"},
    },
}


def entered_id(events: list[dict[str, Any]], name: str, nth: int = 0) -> int:
    ids = [
        e["id"]
        for e in events
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == name
    ]
    return int(ids[nth])


async def test_a_task_state_step_by_step(api: httpx.AsyncClient, worker: None) -> None:
    machine = await create_machine(api, CHARGE)
    execution_id = (await start(api, machine, {"order": {"price": 10, "tax": 2}}))["executionId"]
    await wait_until_done(api, execution_id)
    events = await all_history(api, execution_id)
    charge = entered_id(events, "Charge")
    body = (await api.get(f"/v1/executions/{execution_id}/states/{charge}/steps")).json()
    assert body["stateName"] == "Charge" and body["stateType"] == "Task" and body["status"] == "SUCCEEDED"
    assert [(s["name"], s["field"], s["expression"], s["value"]) for s in body["stages"]] == [
        ("input", None, None, {"order": {"price": 10, "tax": 2}}),
        ("afterInputPath", "InputPath", "$.order", {"price": 10, "tax": 2}),
        ("afterParameters", "Parameters", {"a.$": "$.price", "b.$": "$.tax"}, {"a": 10, "b": 2}),
        ("result", None, None, 12),
        ("afterResultSelector", "ResultSelector", {"total.$": "$"}, {"total": 12}),
        ("afterResultPath", "ResultPath", "$.charge",
         {"order": {"price": 10, "tax": 2}, "charge": {"total": 12}}),
        ("output", "OutputPath", "$.charge", {"total": 12}),
    ]  # fmt: skip
    assert body["output"] == body["recordedOutput"] == {"total": 12}
    assert body["variables"] == {"paid": 12}
    assert body["variablesInScope"] == {"currency": "EUR"}
    assert body["nextState"] == "Risky" and body["exitedEventId"] > charge
    assert body["inspectionData"]["afterParameters"] == {"a": 10, "b": 2}

    risky = (
        await api.get(f"/v1/executions/{execution_id}/states/{entered_id(events, 'Risky')}/steps")
    ).json()
    assert risky["status"] == "CAUGHT_ERROR" and risky["error"] == "Declined" and risky["nextState"] == "Done"
    assert risky["output"] == risky["recordedOutput"]
    assert [a["error"] for a in risky["attempts"]] == ["Declined"]

    info = await api.get(
        f"/v1/executions/{execution_id}/states/{charge}/steps", params={"inspectionLevel": "INFO"}
    )
    assert info.json()["stages"] == [] and info.json()["output"] == {"total": 12}


async def test_unknown_events_and_states_are_404_and_bad_ids_400(
    api: httpx.AsyncClient, worker: None
) -> None:
    machine = await create_machine(api, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    execution_id = (await start(api, machine, {}))["executionId"]
    await wait_until_done(api, execution_id)
    not_entered = await api.get(f"/v1/executions/{execution_id}/states/1/steps")
    assert not_entered.status_code == 404 and "event 1" in not_entered.text
    assert (await api.get(f"/v1/executions/{execution_id}/states/999/steps")).status_code == 404
    assert (await api.get("/v1/executions/x:y/states/2/steps")).status_code == 404
    bad = await api.get(f"/v1/executions/{execution_id}/states/zero/steps")
    assert bad.status_code == 400 and "eventId" in bad.text
    level = await api.get(f"/v1/executions/{execution_id}/states/2/steps", params={"inspectionLevel": "ALL"})
    assert level.status_code == 400 and "inspectionLevel" in level.text
    not_map = await api.get(f"/v1/executions/{execution_id}/states/2/iterations")
    assert not_map.status_code == 400 and "Map and Parallel" in not_map.text


MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ToleratedFailurePercentage": 100,
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericGreaterThanEquals": 295, "Next": "Bad"}],
                        "Default": "Fine",
                    },
                    "Bad": {"Type": "Fail", "Error": "TooBig"},
                    "Fine": {"Type": "Pass", "End": True},
                },
            },
            "End": True,
        }
    },
}


async def test_map_iterations_page_by_index_and_status(api: httpx.AsyncClient, worker: None) -> None:
    for size in (20, 300):  # inline, then in chunk child workflows (over 200 items)
        machine = await create_machine(api, MAP)
        items = [*range(size - 6), *range(295, 301)][:size] if size > 200 else list(range(size))
        execution_id = (await start(api, machine, items))["executionId"]
        await wait_until_done(api, execution_id, seconds=120)
        events = await all_history(api, execution_id, limit=1000)
        each = entered_id(events, "Each")
        url = f"/v1/executions/{execution_id}/states/{each}/iterations"
        seen: list[dict[str, Any]] = []
        token = None
        while True:
            page = (
                await api.get(url, params={"limit": 128} | ({"nextToken": token} if token else {}))
            ).json()
            seen += page["iterations"]
            token = page.get("nextToken")
            if not token:
                break
        assert page["total"] == size and [i["index"] for i in seen] == list(range(size))
        for forged in ("eyJrIjoiaXRlcmF0aW9ucyJ9", "eyJrIjoiaXRlcmF0aW9ucyIsImFmdGVyIjoieCJ9", "!!"):
            refused = await api.get(url, params={"nextToken": forged})  # no "after"; "after": "x"; junk
            assert refused.status_code == 400 and "nextToken" in refused.text
        failed_count = 6 if size > 200 else 0
        assert page["counts"]["FAILED"] == failed_count and page["counts"]["SUCCEEDED"] == size - failed_count
        assert all(i["eventsRecorded"] == (size <= 200) for i in seen)
        if size > 200:
            failed = (await api.get(url, params={"status": "FAILED"})).json()["iterations"]
            assert [i["index"] for i in failed] == list(range(size - 6, size))
        else:
            three = (await api.get(f"{url}/3/events")).json()
            assert [e["type"] for e in three["events"]] == [
                "MapIterationStarted", "ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered",
                "PassStateExited", "MapIterationSucceeded",
            ]  # fmt: skip
            assert three["events"][1]["stateEnteredEventDetails"]["input"] == "3"  # served as JSON text
            step = (await api.get(f"/v1/executions/{execution_id}/states/{each}/steps")).json()
            assert step["inspectionData"]["result"] == list(range(size))
            assert (await api.get(f"{url}/{size}/events")).status_code == 404


async def test_parallel_branches(api: httpx.AsyncClient, worker: None) -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": 1, "End": True}}},
                    {"StartAt": "R", "States": {"R": {"Type": "Pass", "Result": 2, "End": True}}},
                ],
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    execution_id = (await start(api, machine, {}))["executionId"]
    await wait_until_done(api, execution_id)
    both = entered_id(await all_history(api, execution_id), "Both")
    page = (await api.get(f"/v1/executions/{execution_id}/states/{both}/iterations")).json()
    assert [(i["index"], i["status"]) for i in page["iterations"]] == [(0, "SUCCEEDED"), (1, "SUCCEEDED")]
    right = (await api.get(f"/v1/executions/{execution_id}/states/{both}/iterations/1/events")).json()
    assert [e["stateEnteredEventDetails"]["name"] for e in right["events"][:1]] == ["R"]
