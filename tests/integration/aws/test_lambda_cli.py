"""The AWS CLI (pip ``awscli``, as installed) against Stepline's Lambda endpoint, run as a user runs
it: subprocesses with ``--endpoint-url``, credentials from the environment only (an access key made
with ``stepline keys create``: every request here is verified)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shell.keys import create_key
from tests.integration.aws.lambda_kit import zipped
from tests.integration.aws.server import ServerThread, own_settings
from tests.integration.function_kit import requires_bwrap

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # the CLI takes 1-2 s to start on a small machine
    requires_bwrap,
    pytest.mark.skipif(
        shutil.which("aws") is None, reason="the AWS CLI (pip install awscli) is not installed"
    ),
]
APP = "def handler(event, context):\n    print('tail me', event)\n    return {'hello': event.get('name')}\n"


@pytest.fixture(scope="module")
def served(own_database: str, temporal_address: str) -> Iterator[tuple[str, tuple[str, str]]]:
    with own_settings(own_database, temporal_address, "cli", sandbox={"spare_environments": 0}) as settings:
        key = asyncio.run(create_key(settings, "123456789012"))
        with ServerThread(settings) as url:
            yield url, key


@pytest.fixture
def aws(served: tuple[str, tuple[str, str]], tmp_path: Path) -> Any:
    """``aws(*args)``: the CLI's stdout (stderr in the failure message)."""
    url, (key_id, secret) = served
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["aws", "lambda", *args, "--endpoint-url", url, "--output", "json"],
            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


def test_create_wait_invoke_with_the_log_tail(aws: Any, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    (tmp_path / "function.zip").write_bytes(zipped({"app.py": APP}))
    created = json.loads(
        aws(
            "create-function", "--function-name", name, "--runtime", "python3.11", "--handler", "app.handler",
            "--role", "arn:aws:iam::123456789012:role/lambda", "--zip-file", "fileb://function.zip",
        ).stdout
    )  # fmt: skip
    assert created["FunctionName"] == name and created["State"] == "Active"
    aws("wait", "function-active-v2", "--function-name", name)
    (tmp_path / "event.json").write_text(json.dumps({"name": "cli"}))
    answer = json.loads(
        aws(
            "invoke", "--function-name", name, "--payload", "fileb://event.json", "--log-type", "Tail",
            "out.json",
        ).stdout
    )  # fmt: skip
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST"
    assert json.loads((tmp_path / "out.json").read_text()) == {"hello": "cli"}
    log = base64.b64decode(answer["LogResult"]).decode()
    assert "tail me {'name': 'cli'}" in log and "REPORT RequestId" in log
    listed = json.loads(aws("list-functions").stdout)
    assert name in [f["FunctionName"] for f in listed["Functions"]]
    aws("delete-function", "--function-name", name)
    missing = aws("get-function", "--function-name", name, check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_a_wrong_secret_is_refused(served: tuple[str, tuple[str, str]], aws: Any, tmp_path: Path) -> None:
    url, (key_id, _) = served
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }  # fmt: skip
    done = subprocess.run(
        ["aws", "lambda", "list-functions", "--endpoint-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "InvalidSignatureException" in done.stderr
