"""Lambda's Invoke and InvokeAsync through unmodified boto3 against a served Stepline: payloads, the
invocation types, the log tail, function errors, qualifiers, and the errors AWS gives."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

APP = """import json


def handler(event, context):
    print("invoked with", json.dumps(event))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "version": context.function_version}
"""


@pytest.fixture(scope="module")
def function(lam: Any) -> str:
    name = unique("inv")
    create(lam, name, {"app.py": APP})
    return name


def test_request_response_returns_the_payload_and_the_log_tail(lam: Any, function: str) -> None:
    answer = checked(lam, "Invoke", FunctionName=function, Payload=json.dumps({"a": 1}), LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    body = json.loads(answer["Payload"])
    assert body["echo"] == {"a": 1} and body["version"] == "$LATEST"
    log = base64.b64decode(answer["LogResult"]).decode()
    assert 'invoked with {"a": 1}' in log
    assert "START RequestId:" in log and "END RequestId:" in log and "REPORT RequestId:" in log
    assert len(base64.b64decode(answer["LogResult"])) <= 4096
    plain = checked(lam, "Invoke", FunctionName=function, Payload=b"{}")
    assert "LogResult" not in plain


def test_a_function_error_is_unhandled_with_its_error_document(lam: Any, function: str) -> None:
    answer = checked(lam, "Invoke", FunctionName=function, Payload=json.dumps({"fail": True}))
    assert (answer["StatusCode"], answer["FunctionError"]) == (200, "Unhandled")
    document = json.loads(answer["Payload"])
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "asked to fail")


def test_event_is_202_and_runs_dryrun_is_204(lam: Any, function: str, aws_url: str) -> None:
    marker = unique("event")
    queued = checked(
        lam, "Invoke", FunctionName=function, InvocationType="Event", Payload=json.dumps({"m": marker})
    )
    assert queued["StatusCode"] == 202 and queued["Payload"] == b""
    dry = checked(lam, "Invoke", FunctionName=function, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    old = checked(lam, "InvokeAsync", FunctionName=function, InvokeArgs=json.dumps({"m": marker + "-async"}))
    assert old["Status"] == 202
    deadline = time.monotonic() + 30
    seen = ""
    while time.monotonic() < deadline and not (marker in seen and marker + "-async" in seen):
        time.sleep(0.3)
        seen = httpx.get(f"{aws_url}/v1/functions/{function}/logs").text
    assert marker in seen and marker + "-async" in seen


def test_qualifiers_run_that_version(lam: Any, function: str) -> None:
    version = lam.publish_version(FunctionName=function)["Version"]
    for params in ({"Qualifier": version}, {"FunctionName": f"{function}:{version}"}):
        answer = checked(lam, "Invoke", **({"FunctionName": function} | params), Payload=b"{}")
        assert answer["ExecutedVersion"] == version
        body = json.loads(answer["Payload"])
        assert body["version"] == version
    arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    assert json.loads(lam.invoke(FunctionName=arn, Payload=b"{}")["Payload"].read())["version"] == "$LATEST"
    missing = error_of(lam.invoke, FunctionName=function, Qualifier="99", Payload=b"{}")
    assert missing[:2] == ("ResourceNotFoundException", 404)


def test_invocation_errors(lam: Any, function: str) -> None:
    assert error_of(lam.invoke, FunctionName=unique("none"), Payload=b"{}")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    code, status, _ = error_of(lam.invoke, FunctionName=function, Payload=b"x" * (6 * 1024 * 1024 + 1))
    assert (code, status) == ("RequestTooLargeException", 413)
    nul = error_of(lam.invoke, FunctionName=function, Payload=b'{"a": "\x00"}')
    assert nul[:2] == ("InvalidRequestContentException", 400)
    deep = error_of(lam.invoke, FunctionName=function, Payload=b"[" * 200 + b"]" * 200)
    assert deep[:2] == ("InvalidRequestContentException", 400) and "128" in deep[2]
    bad_context = error_of(lam.invoke, FunctionName=function, Payload=b"{}", ClientContext="not base64!")
    assert bad_context[0] == "InvalidRequestContentException"


def test_reserved_concurrency_zero_throttles(lam: Any) -> None:
    name = unique("throttle")
    create(lam, name)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    code, status, _ = error_of(lam.invoke, FunctionName=name, Payload=b"{}")
    assert (code, status) == ("TooManyRequestsException", 429)
    lam.delete_function_concurrency(FunctionName=name)
    time.sleep(1.2)  # the runtime's configuration cache (1 s) in this process
    assert lam.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200
    lam.delete_function(FunctionName=name)
