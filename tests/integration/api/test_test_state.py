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
