"""The remote conformance runner's translations: function names per case, time-relative inputs, the
API's refusals in the case's AWS terms (its runs: tests/integration/executions/test_conformance_e2e.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from shell.conformance.cases import Case, Expected, FunctionSpec
from shell.conformance.remote import (
    ACCOUNT_MASK,
    _create_failed,
    _refused,
    prepare,
    shift_timestamps,
)
from shell.conformance.runner import Actual, compare
from statemachine import DEFAULT_ACCOUNT, JSON

ARN = "arn:aws:lambda:us-east-1:111111111111:function:fn1"


def case(definition: Any, input: Any = None, expected: Expected | None = None, **extra: Any) -> Case:
    return Case(
        id="c",
        kind="execution",
        expected=expected or Expected("SUCCEEDED"),
        path=Path("c.json"),
        definition=definition,
        input=input,
        functions=(FunctionSpec("fn1", ARN, "identity"),),
        **extra,
    )


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True, **fields}}}


def test_function_references_get_the_case_prefix() -> None:
    definition = task(
        "arn:aws:states:::lambda:invoke", Parameters={"FunctionName.$": "$.FunctionName", "Payload": "fn1x"}
    )
    prepared = prepare(case(definition, {"FunctionName": "fn1", "Other": "no_such_fn1"}), "p-")
    assert prepared.isolated
    assert set(prepared.functions) == {"p-fn1"}
    assert prepared.input == {"FunctionName": "p-fn1", "Other": "no_such_fn1"}
    assert json.loads(prepared.definition_text)["States"]["T"]["Parameters"]["Payload"] == "fn1x"


def test_arns_and_qualifiers_keep_their_shape() -> None:
    prepared = prepare(case(task(f"{ARN}:$LATEST"), ["fn1:2"]), "p-")
    resource = json.loads(prepared.definition_text)["States"]["T"]["Resource"]
    assert resource == "arn:aws:lambda:us-east-1:111111111111:function:p-fn1:$LATEST"
    assert prepared.input == ["p-fn1:2"]


def test_a_name_inside_other_text_keeps_the_case_serial_and_unrenamed() -> None:
    definition = task(ARN, Parameters={"arn.$": "States.Format('function:{}', 'fn1')"})
    prepared = prepare(case(definition), "p-")
    assert not prepared.isolated
    assert set(prepared.functions) == {"fn1"}
    assert prepared.definition_text == json.dumps(definition)


def test_a_name_recorded_in_the_expected_output_keeps_the_case_serial() -> None:
    expected = Expected("SUCCEEDED", output={"called": "fn1"})
    assert not prepare(case(task(ARN), expected=expected), "p-").isolated


def test_time_relative_timestamps_move_and_keep_their_format() -> None:
    later = timedelta(days=2, seconds=3.7)
    value: JSON = {"a": "2024-01-01T00:00:00.000Z", "b": ["2024-01-01T00:00:00"], "c": "2024-01-01", "d": 5}
    assert shift_timestamps(value, later) == {
        "a": "2024-01-03T00:00:03.000Z",
        "b": ["2024-01-03T00:00:03"],
        "c": "2024-01-01",
        "d": 5,
    }


def response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("POST", "http://api/x"))


def test_invalid_definition_reads_as_aws_words_it() -> None:
    diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "bad", "location": "/X"}
    actual = _create_failed(response(400, {"title": "Invalid definition", "diagnostics": [diagnostic]}))
    assert actual == Actual(
        "CREATE_FAILED",
        error="InvalidDefinition",
        cause="Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: bad at /X'",
    )


def test_a_refused_start_names_the_code_the_api_gives() -> None:
    body = {
        "title": "Invalid request",
        "detail": "StateMachineTypeNotSupported: not for this type",
        "errors": [{"location": "/", "code": "StateMachineTypeNotSupported"}],
    }
    assert _refused(response(400, body), "start") == Actual(
        "START_FAILED", error="StateMachineTypeNotSupported", cause="not for this type"
    )
    plain = _refused(response(400, {"title": "Invalid request", "detail": "not JSON"}), "start")
    assert (plain.error, plain.cause) == ("Invalid request", "not JSON")


def test_the_account_mask_only_stands_for_the_recorded_account() -> None:
    expected = Expected("SUCCEEDED", output={"id": "arn:<partition>:states:<region>:111111111111:x:<n>"})
    masked = case(task(ARN), expected=expected, regex_transformers=(ACCOUNT_MASK,))
    ours = DEFAULT_ACCOUNT
    assert compare(masked, Actual("SUCCEEDED", output={"id": f"arn:aws:states:local:{ours}:x:1"})) == []
    assert compare(masked, Actual("SUCCEEDED", output={"id": "arn:aws:states:local:222222222222:x:1"}))
