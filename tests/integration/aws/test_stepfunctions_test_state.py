"""TestState through unmodified boto3: one state run with a given input, its data after each
processing step at DEBUG, statuses SUCCEEDED / FAILED / RETRIABLE / CAUGHT_ERROR, mocked results and
errors, a Task that really invokes a Lambda function when nothing is mocked, and AWS's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.lambda_kit import create, lam, unique
from tests.integration.aws.test_stepfunctions_state_machines import ROLE, call, error_of

pytestmark = pytest.mark.integration
__all__ = ["lam"]

PASS = {"Type": "Pass", "End": True}
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:nothing-here"


def test(sfn: Any, state: dict[str, Any], input: Any = None, **params: Any) -> dict[str, Any]:
    """TestState of ``state`` (``input`` as JSON text), its response checked against the model."""
    extra = {"input": json.dumps(input)} if input is not None else {}
    return call(sfn, "TestState", definition=json.dumps(state), roleArn=ROLE, **extra, **params)


test.__test__ = False  # type: ignore[attr-defined]


def data(response: dict[str, Any]) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in response["inspectionData"].items()}


def test_a_task_with_a_mocked_result_shows_every_stage(sfn_sync: Any) -> None:
    state = {
        "Type": "Task", "Resource": FUNCTION, "InputPath": "$.order",
        "Parameters": {"id.$": "$.id", "fixed": 1}, "ResultSelector": {"total.$": "$.sum"},
        "ResultPath": "$.priced", "OutputPath": "$.priced", "Next": "Ship",
    }  # fmt: skip
    answer = test(
        sfn_sync, state, {"order": {"id": 7}}, inspectionLevel="DEBUG",
        mock={"result": json.dumps({"sum": 42, "other": True})},
    )  # fmt: skip
    assert (answer["status"], answer["nextState"], json.loads(answer["output"])) == (
        "SUCCEEDED", "Ship", {"total": 42},
    )  # fmt: skip
    assert data(answer) == {
        "input": {"order": {"id": 7}},
        "afterInputPath": {"id": 7},
        "afterParameters": {"id": 7, "fixed": 1},
        "result": {"sum": 42, "other": True},
        "afterResultSelector": {"total": 42},
        "afterResultPath": {"order": {"id": 7}, "priced": {"total": 42}},  # the raw input's
    }
    info = test(sfn_sync, state, {"order": {"id": 7}}, mock={"result": json.dumps({"sum": 1})})
    assert "inspectionData" not in info  # INFO, the default, shows no stages
    assert json.loads(info["output"]) == {"total": 1}


def test_mocked_errors_are_retriable_caught_or_failed(sfn_sync: Any) -> None:
    state = {
        "Type": "Task", "Resource": FUNCTION, "End": True,
        "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover", "ResultPath": "$.error"}],
    }  # fmt: skip
    busy = {"errorOutput": {"error": "Busy", "cause": "try later"}}
    retriable = test(sfn_sync, state, {"a": 1}, mock=busy)
    assert (retriable["status"], retriable["error"], retriable["cause"]) == ("RETRIABLE", "Busy", "try later")
    spent = test(sfn_sync, state, {"a": 1}, mock=busy, stateConfiguration={"retrierRetryCount": 2})
    assert (spent["status"], spent["nextState"]) == ("CAUGHT_ERROR", "Recover")
    assert json.loads(spent["output"]) == {"a": 1, "error": {"Error": "Busy", "Cause": "try later"}}
    bare = {"Type": "Task", "Resource": FUNCTION, "End": True}
    failed = test(sfn_sync, bare, {}, mock={"errorOutput": {"error": "Boom", "cause": "bad"}})
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Boom", "bad")
    assert "output" not in failed and "nextState" not in failed


def test_states_without_work(sfn_sync: Any) -> None:
    choice = {
        "Type": "Choice", "Default": "Small",
        "Choices": [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}],
    }  # fmt: skip
    assert test(sfn_sync, choice, {"n": 11})["nextState"] == "Big"
    assert test(sfn_sync, choice, {"n": 1})["nextState"] == "Small"
    failing = test(sfn_sync, {"Type": "Fail", "Error": "E", "Cause": "C"}, {})
    assert (failing["status"], failing["error"], failing["cause"]) == ("FAILED", "E", "C")
    passing = test(
        sfn_sync, {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "ResultPath": "$.p", "End": True},
        {"a": 5}, inspectionLevel="TRACE",
    )  # fmt: skip
    assert json.loads(passing["output"]) == {"a": 5, "p": {"x": 5}}
    assert data(passing)["afterParameters"] == {"x": 5}
    missing = test(sfn_sync, {"Type": "Pass", "InputPath": "$.nope", "End": True}, {"a": 1})
    assert (missing["status"], missing["error"]) == ("FAILED", "States.Runtime")


def test_jsonata_variables_and_a_state_of_a_whole_machine(sfn_sync: Any) -> None:
    machine = {
        "QueryLanguage": "JSONata", "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Next": "Priced"},
            "Priced": {
                "Type": "Task", "Resource": FUNCTION, "Arguments": {"qty": "{% $states.input.qty * $unit %}"},
                "Assign": {"last": "{% $states.result.price %}"}, "Output": "{% $states.result.price + 1 %}",
                "End": True,
            },
        },
    }  # fmt: skip
    answer = call(
        sfn_sync, "TestState", definition=json.dumps(machine), stateName="Priced", input='{"qty": 3}',
        variables='{"unit": 2}', inspectionLevel="DEBUG", mock={"result": '{"price": 10}'},
    )  # fmt: skip
    assert json.loads(answer["output"]) == 11
    shown = data(answer)
    assert (shown["afterArguments"], shown["result"], shown["variables"]) == (
        {"qty": 6}, {"price": 10}, {"last": 10},
    )  # fmt: skip


def test_a_task_without_a_mock_invokes_its_function(sfn_sync: Any, lam: Any) -> None:
    name = unique("ts")
    create(lam, name)
    state = {
        "Type": "Task", "Resource": f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
        "Parameters": {"hello.$": "$.who"}, "End": True,
    }  # fmt: skip
    answer = test(sfn_sync, state, {"who": "world"}, inspectionLevel="DEBUG")
    assert answer["status"] == "SUCCEEDED", answer
    assert json.loads(answer["output"]) == {"echo": {"hello": "world"}}
    assert data(answer)["result"] == {"echo": {"hello": "world"}}
    gone = {"Type": "Task", "Resource": FUNCTION, "End": True}
    failed = test(sfn_sync, gone, {})
    assert failed["status"] == "FAILED" and failed["error"].startswith("Lambda.")


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"definition": json.dumps({"Type": "Pass", "Nope": 1, "End": True})}, "InvalidDefinition", "Nope"),
        ({"definition": "{not json"}, "InvalidDefinition", ""),
        ({"definition": json.dumps(PASS), "input": "{bad"}, "InvalidExecutionInput", ""),
        (
            {"definition": json.dumps({"Type": "Pass", "End": True}), "mock": {"result": "1"}},
            "ValidationException", "Task, Map or Parallel",
        ),
        (
            {"definition": json.dumps({"StartAt": "A", "States": {"A": PASS}}), "stateName": "B"},
            "InvalidDefinition", "'B'",
        ),
        (
            {"definition": json.dumps({"Type": "Task", "Resource": FUNCTION, "End": True}),
             "mock": {"result": "1", "errorOutput": {"error": "E"}}},
            "ValidationException", "exactly one",
        ),
    ],
)  # fmt: skip
def test_errors_aws_names(sfn_sync: Any, params: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn_sync.test_state(roleArn=ROLE, **params)
    got, message = error_of(refused)
    assert got == code and words in message, message
