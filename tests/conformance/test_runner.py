"""``stepline conformance`` on a directory it has never seen: synthetic cases of every kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shell.conformance.cli import run_conformance

PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}
LAMBDA_MACHINE = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:fn1",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
            "End": True,
        },
        "C": {"Type": "Pass", "End": True},
    },
}


def case(case_id: str, kind: str = "execution", **fields: Any) -> dict[str, Any]:
    return {
        "id": case_id,
        "kind": kind,
        "state_machine_type": "STANDARD",
        "definition": PASS_MACHINE,
        "input": {},
        "tags": [f"kind:{kind}"],
        **fields,
    }


CASES = [
    case(
        "pass_ok",
        expected={"status": "SUCCEEDED", "output": {"x": 1}},
        expected_history_event_types=[
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ],
    ),
    case("pass_wrong", expected={"status": "SUCCEEDED", "output": {"x": 2}}),
    case(
        "lambda_error_caught",
        definition=LAMBDA_MACHINE,
        functions={"fn1": {"arn": "x", "behaviour_kind": "raise", "behaviour": "plain Exception"}},
        expected={
            "status": "SUCCEEDED",
            "output": {
                "Error": "Exception",
                "Cause": '{"errorMessage": "Some exception was raised.", "errorType": "Exception", '
                '"requestId": "<uuid:1>", "stackTrace": []}',
            },
        },
    ),
    case(
        "bad_input",
        kind="start_error",
        input_raw="{'a'",
        expected={
            "status": "START_FAILED",
            "error": "InvalidExecutionInput",
            "cause": "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): "
            "was expecting double-quote to start field name'",
        },
    ),
    case(
        "no_start_at",
        kind="validate",
        definition={"States": {"A": {"Type": "Pass", "End": True}}},
        expected={
            "status": "FAIL",
            "output": {
                "result": "FAIL",
                "diagnostics": [
                    {
                        "code": "SCHEMA_VALIDATION_FAILED",
                        "location": "/",
                        "message": "These fields are required: [StartAt]",
                        "severity": "ERROR",
                    }
                ],
                "truncated": False,
            },
        },
    ),
    case(
        "dangling_next",
        kind="create_error",
        definition={"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}},
        expected={
            "status": "CREATE_FAILED",
            "error": "InvalidDefinition",
            "cause": "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: B "
            "at /States/A/Next'",
        },
    ),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    for item in CASES:
        (tmp_path / f"{item['id']}.json").write_text(json.dumps(item))
    return tmp_path


def test_reports_each_failure_a_tag_table_and_the_totals_last(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json = corpus / "results.out"
    assert run_conformance(corpus, json_out=out_json, only=None, quiet=False) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "5 passed, 1 failed"
    assert lines[0].startswith("FAIL pass_wrong")
    assert "output/x differs" in lines[1]
    assert any(line.startswith("kind:execution") and line.split()[1:3] == ["3", "2"] for line in lines)
    results = json.loads(out_json.read_text())
    assert results["summary"] == {"cases": 6, "passed": 5, "failed": 1}
    assert {c["id"]: c["passed"] for c in results["cases"]}["lambda_error_caught"] is True


def test_only_filters_and_quiet_hides_differences(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_conformance(corpus, json_out=None, only="pass_", quiet=True) == 1
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.splitlines()[-1] == "1 passed, 1 failed"


def test_a_malformed_case_is_named_not_a_traceback(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (corpus / "broken.json").write_text('{"id": "broken"}')
    assert run_conformance(corpus, json_out=None, only=None, quiet=True) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "malformed case" in err


def test_missing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_conformance(tmp_path / "nope", json_out=None, only=None, quiet=True) == 2
    assert "not a directory" in capsys.readouterr().err
