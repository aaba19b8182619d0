"""Functions calling back in a split deployment: ``stepline worker`` forwards a sandbox's AWS API
calls to ``stepline api`` at the address its settings give (here the API's own port, as both
processes share ``STEPLINE_API__PORT``), and a client context crosses the hop to the function."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.integration.api.test_worker_split import Deployment, database, deployment, lambda_client
from tests.integration.function_kit import requires_bwrap
from tests.integration.helpers import unique

pytestmark = [pytest.mark.integration, pytest.mark.slow, requires_bwrap]
__all__ = ["database", "deployment"]

CALLER = """import boto3

lam = boto3.client("lambda")


def handler(event, context):
    out = lam.invoke(FunctionName=event["target"], Payload=b'{"n": 4}')
    return {"answer": out["Payload"].read().decode(), "custom": context.client_context.custom}
"""
ECHO = """def handler(event, context):
    return {"doubled": event["n"] * 2}
"""


def create(url: str, name: str, files: dict[str, str], **extra: Any) -> None:
    body = {"name": name, "runtime": "python3.11", "handler": "app.handler", "code": {"files": files}}
    response = httpx.post(f"{url}/v1/functions", json=body | extra, timeout=60)
    assert response.status_code == 201, response.text


def test_a_function_on_a_worker_calls_the_api_back(deployment: Deployment) -> None:
    caller, target = unique("caller"), unique("echo")
    create(deployment.url, target, {"app.py": ECHO})
    create(deployment.url, caller, {"app.py": CALLER}, awsApi=True, memorySize=256, timeout=30)
    context = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    out = lambda_client(deployment.url).invoke(
        FunctionName=caller, Payload=json.dumps({"target": target}).encode(), ClientContext=context
    )
    assert "FunctionError" not in out, out["Payload"].read()
    assert json.loads(out["Payload"].read()) == {"answer": '{"doubled": 8}', "custom": {"tenant": "t1"}}
