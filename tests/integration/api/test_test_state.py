"""``POST /v1/test-state``: TestState with JSON values, mocked work, and 400s naming the problem."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:f"


async def test_a_mocked_task_on_v1(api: httpx.AsyncClient) -> None:
    state = {"Type": "Task", "Resource": FUNCTION, "ResultPath": "$.r", "Next": "After"}
    body = {"definition": state, "input": {"a": 1}, "inspectionLevel": "DEBUG", "mock": {"result": [1, 2]}}
    answer = await api.post("/v1/test-state", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["status"], found["nextState"], found["output"]) == (
        "SUCCEEDED",
        "After",
        {"a": 1, "r": [1, 2]},
    )
    assert found["inspectionData"]["result"] == [1, 2]
    failed = await api.post(
        "/v1/test-state", json={"definition": state, "mock": {"errorOutput": {"error": "E", "cause": "c"}}}
    )
    assert (failed.json()["status"], failed.json()["error"]) == ("FAILED", "E")


async def test_bad_requests_name_the_problem(api: httpx.AsyncClient) -> None:
    invalid = await api.post("/v1/test-state", json={"definition": {"Type": "Pass", "Bogus": 1, "End": True}})
    assert invalid.status_code == 400 and "Bogus" in invalid.text
    mocked_pass = await api.post(
        "/v1/test-state", json={"definition": {"Type": "Pass", "End": True}, "mock": {"result": 1}}
    )
    assert mocked_pass.status_code == 400 and "/mock" in mocked_pass.text


async def test_a_map_or_parallel_needs_a_mock_as_in_aws(api: httpx.AsyncClient) -> None:
    state = {
        "Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.out",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True,
    }  # fmt: skip
    unmocked = await api.post("/v1/test-state", json={"definition": state, "input": {"items": [1]}})
    assert unmocked.status_code == 400 and "when a mock is specified" in unmocked.text
    body = {
        "definition": state,
        "input": {"items": [1, 2]},
        "inspectionLevel": "DEBUG",
        "mock": {"result": [3, 4]},
    }
    answer = (await api.post("/v1/test-state", json=body)).json()
    assert (answer["status"], answer["output"]) == ("SUCCEEDED", {"items": [1, 2], "out": [3, 4]})
    waits = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": True}
    refused = await api.post("/v1/test-state", json={"definition": waits})
    assert refused.status_code == 400 and "waitForTaskToken" in refused.text
