"""The AWS CLI (pip ``awscli``, as installed) against Stepline's Step Functions endpoint, run as a user
runs it: subprocesses with ``--endpoint-url`` and nothing but environment variables for credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # the CLI takes 1-2 s to start on a small machine
    pytest.mark.skipif(
        shutil.which("aws") is None, reason="the AWS CLI (pip install awscli) is not installed"
    ),
]

DEFINITION = {
    "Comment": "The five-minute tour",
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
def aws(aws_url: str, tmp_path: Path) -> Any:
    """``aws(*args)``: the CLI's parsed JSON answer (stderr in the failure message)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }

    def run(*args: str, extra_env: dict[str, str] | None = None, check: bool = True) -> Any:
        done = subprocess.run(
            ["aws", *args, "--endpoint-url", aws_url, "--output", "json"],
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if not check:
            return done
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


def test_the_tour_through_the_aws_cli(aws: Any, tmp_path: Path) -> None:
    definition = tmp_path / "hello.asl.json"
    definition.write_text(json.dumps(DEFINITION, indent=2))
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = aws(
        "stepfunctions", "create-state-machine", "--name", name, "--definition", f"file://{definition}",
        "--role-arn", "arn:aws:iam::123456789012:role/StepFunctionsRole",
    )  # fmt: skip
    arn = created["stateMachineArn"]
    assert arn.endswith(f":stateMachine:{name}")
    started = aws(
        "stepfunctions", "start-execution", "--state-machine-arn", arn, "--input", '{"name": "Stepline"}'
    )
    execution = started["executionArn"]
    deadline = time.monotonic() + 30
    while (described := aws("stepfunctions", "describe-execution", "--execution-arn", execution))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"greeting": "Hello, Stepline!"}
    events = aws("stepfunctions", "get-execution-history", "--execution-arn", execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]
    reverse = aws("stepfunctions", "get-execution-history", "--execution-arn", execution, "--reverse-order")
    assert [e["id"] for e in reverse["events"]] == [e["id"] for e in events][::-1]
    listed = aws("stepfunctions", "list-state-machines")["stateMachines"]
    assert name in [m["name"] for m in listed]


def test_sync_executions_need_the_host_prefix_off(aws: Any, tmp_path: Path) -> None:
    """The CLI sends StartSyncExecution to ``sync-127.0.0.1`` unless
    ``AWS_DISABLE_HOST_PREFIX_INJECTION=true`` (what docs/aws-api.md tells users)."""
    definition = tmp_path / "express.asl.json"
    definition.write_text(json.dumps(DEFINITION))
    arn = aws(
        "stepfunctions", "create-state-machine", "--name", f"cli-{uuid.uuid4().hex[:8]}", "--type", "EXPRESS",
        "--definition", f"file://{definition}", "--role-arn", "arn:aws:iam::123456789012:role/R",
    )["stateMachineArn"]  # fmt: skip
    args = ("stepfunctions", "start-sync-execution", "--state-machine-arn", arn, "--input", '{"name": "you"}')
    refused = aws(*args, check=False, extra_env={"AWS_MAX_ATTEMPTS": "1"})  # no retries of the bad host
    assert refused.returncode != 0 and "sync-127.0.0.1" in refused.stderr
    result = aws(*args, extra_env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"})
    assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", {"greeting": "Hello, you!"})


def test_cli_errors_carry_the_aws_code(aws: Any) -> None:
    missing = "arn:aws:states:us-east-1:000000000000:stateMachine:no-such-machine"
    done = aws("stepfunctions", "describe-state-machine", "--state-machine-arn", missing, check=False)
    assert done.returncode != 0
    assert "(StateMachineDoesNotExist)" in done.stderr and missing in done.stderr
