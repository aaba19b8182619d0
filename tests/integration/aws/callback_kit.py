"""Fixtures for functions calling back: the API (with its worker) on a port its settings name, so
that sandboxes' calls find it, and a function that uses the boto3 the runtime provides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from foundation.settings import Settings
from shell.embedded import free_port
from tests.integration.aws.conftest import client
from tests.integration.aws.lambda_kit import checked, create, unique
from tests.integration.aws.server import ServerThread, own_settings

FLAG = {"Variables": {"STEPLINE_AWS_API": "true"}}
CALLER = """import json
import os
import time

import boto3

lam = boto3.client("lambda")  # made at INIT: it follows each invocation's new credentials
sfn = boto3.client("stepfunctions")
VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
             "AWS_CREDENTIAL_EXPIRATION")


def handler(event, context):
    action = event["action"]
    if action == "env":
        return {key: os.environ.get(key) for key in VARIABLES}
    if action == "invoke":
        out = lam.invoke(FunctionName=event["target"], Payload=json.dumps(event["payload"]).encode())
        return {"status": out["StatusCode"], "payload": json.loads(out["Payload"].read())}
    if action == "start":
        started = sfn.start_execution(stateMachineArn=event["arn"], input=json.dumps(event["input"]))
        arn = started["executionArn"]
        while (found := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            time.sleep(0.1)
        return {"status": found["status"], "output": json.loads(found["output"])}
    if action == "sync":
        out = sfn.start_sync_execution(stateMachineArn=event["arn"], input=json.dumps(event["input"]))
        return {"status": out["status"], "output": json.loads(out["output"])}
    if action == "with":  # the given credentials instead of the function's own
        os.environ.update(event["credentials"])
        try:
            boto3.client("lambda").list_functions(MaxItems=1)
            return "accepted"
        except Exception as exc:
            return getattr(exc, "response", {}).get("Error", {}).get("Code", repr(exc))
    raise ValueError(action)
"""
MACHINE = {
    "StartAt": "Echo",
    "States": {
        "Echo": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.Payload",
                 "Parameters": {"FunctionName": "TARGET", "Payload.$": "$"}, "End": True},
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def served(database_url: str, temporal_address: str) -> Iterator[tuple[str, Settings]]:
    """The API (with its worker, as ``stepline dev``) on a port its settings name, so that sandboxes'
    calls find it (``STEPLINE_SANDBOX__API_URL`` unset: the API's own host and port)."""
    port = free_port()
    fields: dict[str, Any] = {"api": {"port": port}, "sandbox": {"spare_environments": 1}}
    with (
        own_settings(database_url, temporal_address, "callback", **fields) as settings,
        ServerThread(settings, port=port) as url,
    ):
        yield url, settings


@pytest.fixture(scope="module")
def lam(served: tuple[str, Settings]) -> Any:
    return client(served[0], "lambda")


@pytest.fixture(scope="module")
def caller(lam: Any) -> str:
    name = unique("caller")
    create(lam, name, {"app.py": CALLER}, Environment=FLAG, MemorySize=256, Timeout=60)
    return name


def invoke(lam: Any, name: str, event: Any) -> Any:
    answer = checked(lam, "Invoke", FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in answer, answer["Payload"]
    return json.loads(answer["Payload"])
