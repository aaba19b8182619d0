"""The runner's field rules: status, error, causes (objects, create prefixes, Lambda texts), RUNNING."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shell.conformance.cases import Case, Expected
from shell.conformance.runner import Actual, compare


def case(kind: str = "execution", history: tuple[str, ...] | None = None, **expected: Any) -> Case:
    return Case(
        id="c",
        kind=kind,
        expected=Expected(**{"status": "FAILED", **expected}),
        path=Path("c.json"),
        expected_history_types=history,
    )


@pytest.mark.parametrize(
    ("the_case", "actual", "fields"),
    [
        (case(error="E", cause=None), Actual("FAILED", error="E", cause=""), []),
        (case(error="E", cause=None), Actual("FAILED", error="E", cause="boom"), ["cause"]),
        (case(error=None), Actual("FAILED", error=""), ["error"]),
        (
            case(error="Exception", cause={"errorType": "Exception", "errorMessage": "m"}),
            Actual("FAILED", error="Exception", cause='{"errorMessage": "m", "errorType": "Exception"}'),
            [],
        ),
        (
            case(error="Exception", cause={"errorType": "Exception", "errorMessage": "m"}),
            Actual("FAILED", error="Exception", cause='{"errorMessage": "n", "errorType": "Exception"}'),
            ["cause"],
        ),
        (
            case(
                kind="create_error",
                status="CREATE_FAILED",
                error="InvalidDefinition",
                cause="Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: x at /States/A'",
            ),
            Actual(
                "CREATE_FAILED",
                error="InvalidDefinition",
                cause="Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: x at /States/A, "
                "MISSING_END_STATE: y at null'",
            ),
            [],
        ),
        (case(status="SUCCEEDED", output={"a": 1}), Actual("FAILED"), ["status", "output"]),
        (
            case(status="RUNNING", history=("ExecutionStarted",)),
            Actual("RUNNING", history=("ExecutionStarted", "MapStateEntered")),
            [],
        ),
        (
            case(status="SUCCEEDED", history=("ExecutionStarted", "ExecutionSucceeded")),
            Actual("SUCCEEDED", history=("ExecutionStarted", "PassStateEntered", "ExecutionSucceeded")),
            ["history"],
        ),
    ],
    ids=[
        "null-cause-equals-empty",
        "unexpected-cause",
        "error-null-is-not-empty",
        "object-cause-decoded",
        "object-cause-differs",
        "create-cause-as-substring",
        "status-and-output",
        "running-compares-history-prefix",
        "history-sequence",
    ],
)
def test_compare_fields(the_case: Case, actual: Actual, fields: list[str]) -> None:
    found = [d.field for d in compare(the_case, actual) if not d.warning]
    assert found == fields


def test_lambda_service_cause_text_is_only_a_warning() -> None:
    expected = "Function not found: arn:x (Service: AWSLambda; Status Code: 404; Request ID: <request_id>)"
    (diff,) = compare(
        case(error="Lambda.ResourceNotFoundException", cause=expected),
        Actual("FAILED", error="Lambda.ResourceNotFoundException", cause="Function not found: fn1"),
    )
    assert diff.warning and diff.field == "cause"
