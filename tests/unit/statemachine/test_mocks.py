"""Mock configurations (Step Functions Local's MockConfigFile): checking the file, and executions
whose mocked Tasks make no call, retries seeing successive responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from statemachine import load_program
from statemachine.host import FunctionCall, FunctionResult
from statemachine.interpreter import execute
from statemachine.local import LocalHost, execution_context
from statemachine.mocks import MockConfigError, TestCase, parse_config

CONFIG = {
    "StateMachines": {
        "Orders": {"TestCases": {"Retried": {"Charge": "FailThenCharge", "Notify": "Sent"}}},
    },
    "MockedResponses": {
        "FailThenCharge": {
            "0-1": {"Throw": {"Error": "Busy", "Cause": "try again"}},
            "2": {"Return": {"charged": 10}},
        },
        "Sent": {"0": {"Return": {"MessageId": "m-1"}}},
    },
}
MACHINE = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:c", "ResultPath": "$.charge",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1, "MaxAttempts": 3}], "Next": "Notify",
        },
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"Message.$": "$.charge"}, "ResultPath": "$.sent", "End": True},
    },
}  # fmt: skip


async def no_calls(call: FunctionCall) -> FunctionResult:
    raise AssertionError(f"a mocked Task called {call.function}")


async def test_mocked_tasks_make_no_call_and_retries_see_successive_responses() -> None:
    case = parse_config(CONFIG).test_case("Orders", "Retried")
    assert case is not None
    mocks = TestCase.from_json(TestCase(case).to_json())  # as it travels to the workflow
    host = LocalHost(invoker=no_calls, start_time=datetime(2026, 1, 1, tzinfo=UTC))
    outcome = await execute(
        load_program(MACHINE), {"id": 1}, execution_context("Orders", "e", host.now()), host, mocks=mocks
    )
    assert (outcome.status, outcome.output) == (
        "SUCCEEDED", {"id": 1, "charge": {"charged": 10}, "sent": {"MessageId": "m-1"}},
    )  # fmt: skip
    kinds = [e.type for e in host.history]
    assert kinds.count("LambdaFunctionFailed") == 2 and kinds.count("LambdaFunctionSucceeded") == 1
    assert "TaskSucceeded" in kinds  # sns:publish, mocked, as a Task
    assert mocks.calls == {"Charge": 3, "Notify": 1}


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([], ""),
        ({"StateMachines": {"M": {"TestCases": {"C": {"S": "Nope"}}}}}, "/StateMachines/M/TestCases/C/S"),
        ({"MockedResponses": {"R": {"1": {"Return": 1}}}}, "/MockedResponses/R"),  # does not start at 0
        ({"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}}, "/MockedResponses/R/0"),
        ({"MockedResponses": {"R": {"0-x": {"Return": 1}}}}, "/MockedResponses/R/0-x"),
        ({"MockedResponses": {"R": {"0": {"Throw": {"Cause": "no error"}}}}}, "/MockedResponses/R/0/Throw"),
    ],
)
def test_a_bad_file_names_the_problem_and_where(document: Any, where: str) -> None:
    with pytest.raises(MockConfigError) as refused:
        parse_config(document)
    assert refused.value.location == where
