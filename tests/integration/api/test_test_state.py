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


async def test_an_unmocked_map_runs_its_iterations(api: httpx.AsyncClient) -> None:
    state = {
        "Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"v.$": "$$.Map.Item.Value"},
        "ResultPath": "$.out",
        "ItemProcessor": {"StartAt": "Double", "States": {"Double": {
            "Type": "Pass", "Parameters": {"d.$": "States.MathAdd($.v, $.v)"}, "End": True}}},
        "End": True,
    }  # fmt: skip
    body = {"definition": state, "input": {"items": [1, 2]}, "inspectionLevel": "DEBUG"}
    answer = (await api.post("/v1/test-state", json=body)).json()
    assert answer["status"] == "SUCCEEDED", answer
    assert answer["output"] == {"items": [1, 2], "out": [{"d": 2}, {"d": 4}]}
    assert answer["inspectionData"]["result"] == [{"d": 2}, {"d": 4}]
    parallel = {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "BranchFailed"}}},
    ]}  # fmt: skip
    failed = (await api.post("/v1/test-state", json={"definition": parallel})).json()
    assert (failed["status"], failed["error"]) == ("FAILED", "BranchFailed")
