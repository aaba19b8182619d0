"""AWS's JSON protocol (awsJson1_0): ``POST /`` with ``X-Amz-Target: <prefix>.<Operation>``.

One request: decode the body (orjson; NUL characters and nesting checked as everywhere,
``api.json_input``), check it against the operation's input shape (``api.aws.shapes``), run the
operation's handler, shape its result by the output shape, answer with ``x-amzn-RequestId``. Every
failure becomes an AWS error document, never problem+json and never a stack trace:

UnknownOperationException  400  a target no service here has
UnsupportedOperation       400  an operation of the model this Stepline does not implement (yet)
SerializationException     400  a body that is not a JSON object, or a member of the wrong JSON type
ValidationException        400  constraints of the model (all of them at once), or the service's own
<the service's codes>           what ``JsonService.map_error`` makes of a domain error
InternalFailure            500  a bug (logged with its traceback)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.model import StructureShape
from starlette.requests import Request
from starlette.responses import Response

from api.aws import shapes
from api.aws.errors import JSON10, REQUEST_ID, AwsError, internal_error, json10_error, new_request_id
from api.aws.models import operation_model, operation_names
from api.json_input import check_body
from api.state import AppState
from foundation.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Call:
    """One AWS request as its handler sees it."""

    state: AppState
    operation: str
    request_id: str

    @property
    def region(self) -> str:
        return self.state.settings.region


Handler = Callable[[Call, dict[str, Any]], Awaitable[dict[str, Any]]]
ErrorMap = Callable[[Exception, dict[str, Any], str], AwsError | None]


@dataclass(frozen=True)
class JsonService:
    """A service spoken in awsJson1_0: its target prefix, botocore model and handlers."""

    target_prefix: str
    """``AWSStepFunctions``."""
    model: str
    """botocore's name of the service model (``stepfunctions``)."""
    handlers: dict[str, Handler]
    map_error: ErrorMap
    """A domain error as this service's AWS error (None: a bug)."""
    unsupported: Callable[[str], str]
    """The message for an operation of the model without a handler."""


async def serve(services: dict[str, JsonService], request: Request) -> Response:
    """Answer one ``POST /`` for whichever of ``services`` its target names."""
    request_id = new_request_id()
    prefix, _, operation = request.headers.get("x-amz-target", "").partition(".")
    service = services.get(prefix)
    params: dict[str, Any] = {}
    try:
        if service is None or operation not in operation_names(service.model):
            target = request.headers.get("x-amz-target") or "(no X-Amz-Target header)"
            raise AwsError("UnknownOperationException", f"Unknown operation {target}")
        handler = service.handlers.get(operation)
        if handler is None:
            raise AwsError("UnsupportedOperation", service.unsupported(operation))
        params = await _params(request)
        model = operation_model(service.model, operation)
        if model.input_shape is not None:
            shapes.check_input(model.input_shape)(params)
        call = Call(request.app.state.stepline, operation, request_id)
        result = await handler(call, params)
        body = orjson.dumps(_shaped(model.output_shape, result))
        return Response(body, 200, {REQUEST_ID: request_id}, media_type=JSON10)
    except Exception as exc:  # every failure answers in the protocol; bugs are logged, not shown
        return json10_error(_aws_error(exc, service, params, request, operation), request_id)


def _shaped(shape: StructureShape | None, result: dict[str, Any]) -> dict[str, Any]:
    if shape is None:
        return {}
    shaped: dict[str, Any] = shapes.shape_output(shape)(result)
    return shaped


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        check_body(body)
        params = orjson.loads(body)
    except InvalidRequest as exc:
        raise AwsError("SerializationException", exc.detail) from None
    except orjson.JSONDecodeError as exc:
        raise AwsError("SerializationException", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise AwsError("SerializationException", "The request body must be a JSON object")
    return params


def _aws_error(
    exc: Exception, service: JsonService | None, params: dict[str, Any], request: Request, operation: str
) -> AwsError:
    if isinstance(exc, AwsError):
        return exc
    if service is not None:
        mapped = service.map_error(exc, params, request.app.state.stepline.settings.region)
        if mapped is not None:
            return mapped
    return internal_error(exc, {"operation": operation, "target": service and service.target_prefix})
