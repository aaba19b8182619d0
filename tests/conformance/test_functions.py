"""The in-process invoker keeps Lambda's contract: names, payloads, errors, timeouts."""

from __future__ import annotations

import json
import time

import pytest

from shell.conformance.functions import InProcessInvoker, function_name, source_for
from statemachine.errors import StatesError
from statemachine.host import FunctionCall

ARN = "arn:aws:lambda:us-east-1:111111111111:function:fn1"


@pytest.mark.parametrize(
    ("reference", "name", "qualifier"),
    [
        ("fn1", "fn1", None),
        ("fn1:prod", "fn1", "prod"),
        (ARN, "fn1", None),
        (ARN + ":$LATEST", "fn1", "$LATEST"),
        ("111111111111:function:fn1", "fn1", None),
    ],
)
def test_function_name(reference: str, name: str, qualifier: str | None) -> None:
    assert function_name(reference) == (name, qualifier)


def invoker(kind: str, behaviour: str = "") -> InProcessInvoker:
    return InProcessInvoker.from_behaviours([("fn1", kind, behaviour)])


@pytest.mark.parametrize(
    ("kind", "event", "payload"),
    [
        ("identity", {"a": [1, None]}, b'{"a": [1, null]}'),
        ("constant", {}, b'{"Return": "HelloWorld"}'),
        ("constant_bytes", {}, b'"HelloWorld!"'),
        ("format", {"k": True}, json.dumps("input-event-{'k': True}").encode()),
    ],
)
async def test_behaviours(kind: str, event: object, payload: bytes) -> None:
    result = await invoker(kind)(FunctionCall(ARN, json.dumps(event).encode()))
    assert (result.payload, result.function_error) == (payload, None)
    assert result.request_id


async def test_large_output_is_returned_raw() -> None:
    result = await invoker("large_output")(FunctionCall("fn1", b"{}"))
    assert len(result.payload) == 257 * 1024 and result.function_error is None


@pytest.mark.parametrize(
    ("behaviour", "error_type", "message"),
    [
        ("plain Exception", "Exception", "Some exception was raised."),
        ("CustomException", "CustomException", ""),
    ],
)
async def test_raise_gives_the_lambda_error_document(behaviour: str, error_type: str, message: str) -> None:
    result = await invoker("raise", behaviour)(FunctionCall(ARN, b"null"))
    document = json.loads(result.payload)
    assert result.function_error == "Unhandled"
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (document["errorType"], document["errorMessage"], document["requestId"]) == (
        error_type,
        message,
        result.request_id,
    )
    assert document["stackTrace"][-1].startswith('  File "/var/task/handler.py", line ')
    assert "raise " in document["stackTrace"][-1]


async def test_unknown_function_is_resource_not_found() -> None:
    with pytest.raises(StatesError) as info:
        await invoker("identity")(FunctionCall("no_such_fn1", b"{}"))
    assert info.value.name == "Lambda.ResourceNotFoundException"
    assert "function:no_such_fn1:$LATEST (Service: AWSLambda; Status Code: 404" in (info.value.cause or "")


async def test_timeout_abandons_the_sleeping_handler() -> None:
    started = time.monotonic()
    with pytest.raises(StatesError) as info:
        await invoker("sleep_then_identity")(FunctionCall("fn1", b"{}", timeout_seconds=0.05))
    assert info.value.name == "States.Timeout"
    assert time.monotonic() - started < 2


def test_unknown_behaviour_is_named() -> None:
    with pytest.raises(KeyError, match="teleport"):
        source_for("teleport")
