"""``stepline conformance DIR --aws URL``: corpus cases end to end through the Step Functions endpoint
with boto3, one of each kind (an execution invoking a real sandboxed function, a failing one, a
refused start, a synchronous execution and a refused one, a validation, a definition that
CreateStateMachine refuses). The whole corpus: ``python3 scripts/conformance_e2e.py DIR --aws``."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from shell.conformance.cli import run_conformance
from tests.conformance.conftest import corpus_dir
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, pytest.mark.sandbox, requires_bwrap]

CASES = (
    "services.test_lambda_task__test_invoke_pipe",
    "base.test_base__test_state_fail",
    "test_sfn_api__test_invalid_start_execution_input__start_exec_not_json_inp",
    "test_sfn_api__test_start_sync_execution",
    "express.test_express_sync__test_base__BASE_PASS_RESULT",
    "test_sfn_api_validation__test_validate_state_machine_definition_type_standard__INVALID_BASE_NO_STARTAT",
    "scenarios.test_base_scenarios__test_wait_timestamp_invalid__NO_Z",
)


async def test_cases_pass_through_the_aws_endpoint(aws_url: str, tmp_path: Path) -> None:
    source = corpus_dir()
    if not source.is_dir():
        pytest.skip(f"no conformance corpus at {source}")
    corpus = tmp_path / "cases"
    corpus.mkdir()
    for case in CASES:
        shutil.copy(source / f"{case}.json", corpus)
    out = tmp_path / "results.json"
    code = await asyncio.to_thread(
        run_conformance, corpus, json_out=out, only=None, quiet=False, aws_url=aws_url
    )
    assert json.loads(out.read_text())["summary"] == {"cases": 7, "passed": 7, "failed": 0}
    assert code == 0
    unreachable = await asyncio.to_thread(
        run_conformance, corpus, json_out=None, only=None, quiet=True, aws_url="http://127.0.0.1:9"
    )
    assert unreachable == 2
