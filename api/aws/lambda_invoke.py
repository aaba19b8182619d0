"""Lambda's Invoke and InvokeAsync over the function runtime (the hot path: no registry access when
the function's configuration is cached, no FastAPI machinery)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import function_ref
from api.json_input import check_payload
from foundation.errors import InvalidRequest

MAX_CLIENT_CONTEXT = 3583
"""Lambda's limit on the client context (base64 JSON) in bytes."""


def _check_client_context(value: str | None) -> None:
    """X-Amz-Client-Context must be base64 of a JSON object of at most 3,583 bytes, as Lambda requires
    (the function gets it as ``context.client_context``)."""
    if value is None:
        return
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = None
    if decoded is not None and len(decoded) > MAX_CLIENT_CONTEXT:
        raise AwsError(
            "InvalidParameterValueException", f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes."
        )
    try:
        document = json.loads(decoded) if decoded is not None else None
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise AwsError("InvalidRequestContentException", "Client context must be base64-encoded JSON.")


def _check_payload(payload: bytes) -> None:
    """No NUL byte, nested at most 128 levels (``api.json_input``): Lambda's content error if not."""
    try:
        check_payload(payload)
    except InvalidRequest as exc:
        raise AwsError("InvalidRequestContentException", exc.detail) from None


async def invoke(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    _check_client_context(params.get("ClientContext"))
    payload: bytes = params.get("Payload") or b""
    _check_payload(payload)
    kind = params.get("InvocationType") or "RequestResponse"
    result = await call.runtime.invoke(
        name, payload, qualifier=qualifier, invocation_type=kind, client_context=params.get("ClientContext")
    )
    if kind == "Event" and result.request_id:
        call.request_id = result.request_id  # the id its destination's record names, as Lambda's
    out: dict[str, Any] = {
        "StatusCode": result.status_code,
        "ExecutedVersion": result.executed_version,
        "FunctionError": result.function_error,
        "Payload": result.payload,
    }
    if kind == "RequestResponse" and params.get("LogType") == "Tail":
        out["LogResult"] = result.log_result
    return out


async def invoke_async(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"])
    payload: bytes = params.get("InvokeArgs") or b""
    _check_payload(payload)
    await call.runtime.invoke(name, payload, qualifier=qualifier, invocation_type="Event")
    return {"Status": 202}


OPERATIONS: dict[str, Operation] = {"Invoke": invoke, "InvokeAsync": invoke_async}
