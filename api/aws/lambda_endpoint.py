"""The Lambda endpoint: restJson1 under the model's API-version prefixes (``/2015-03-31/...``).

One request: route by method and raw path (``api.aws.lambda_routing``), read the members where the
model puts them and check them (``api.aws.lambda_wire``), run the operation, answer with the model's
status code and ``x-amzn-RequestId``. Every failure is a Lambda error document (``X-Amzn-ErrorType``,
``{"Type", "Message"}``), never problem+json and never a stack trace:

UnknownOperationException  404  a path and method no Lambda operation has
UnsupportedOperation       400  an operation of the model this Stepline does not implement (yet)
ValidationException        400  constraints of the model (all at once)
InvalidRequestContentException 400  a body that is not a JSON object
<Lambda's codes>                what ``lambda_call.lambda_error`` makes of a service error
InternalFailure / ServiceUnavailable  500 / 503
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.aws import (
    lambda_aliases,
    lambda_code_signing,
    lambda_concurrency,
    lambda_event_invoke,
    lambda_event_source_mappings,
    lambda_function_urls,
    lambda_functions,
    lambda_invoke,
    lambda_layers,
    lambda_policy_tags,
    lambda_routing,
)
from api.aws.auth import account_id
from api.aws.errors import AwsError, common_error, internal_error, new_request_id, rest_json_error
from api.aws.lambda_call import Call, Operation, lambda_error
from api.aws.lambda_wire import parse_request, plan, response
from api.aws.rest_json import PatternRoute, operation_of, query_of
from api.routes.functions import runtime_of

log = logging.getLogger(__name__)

OPERATIONS: dict[str, Operation] = {
    **lambda_functions.OPERATIONS,
    **lambda_invoke.OPERATIONS,
    **lambda_concurrency.OPERATIONS,
    **lambda_policy_tags.OPERATIONS,
    **lambda_aliases.OPERATIONS,
    **lambda_layers.OPERATIONS,
    **lambda_code_signing.OPERATIONS,
    **lambda_event_invoke.OPERATIONS,
    **lambda_event_source_mappings.OPERATIONS,
    **lambda_function_urls.OPERATIONS,
}


def _unsupported(operation: str) -> AwsError:
    return AwsError(
        "UnsupportedOperation",
        f"{operation} is not supported by this Stepline yet: the Lambda features Stepline lacks "
        "come with their features (see docs/aws-api.md)",
    )


class LambdaEndpoint:
    """The ASGI app mounted at each of the model's prefixes (``mount_lambda``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        request = Request(scope, receive)
        call: Call | None = None
        operation = "?"
        try:
            query = query_of(scope)
            found = operation_of(
                scope, query, lambda_routing.SERVICE, "Lambda", "InvalidParameterValueException"
            )
            operation = found.operation
            handler = OPERATIONS.get(operation)
            if handler is None:
                raise _unsupported(operation)
            p = plan(operation)
            headers = {k: v for k, v in request.headers.items()}
            params = parse_request(p, found.labels, query, headers, await request.body())
            state = scope["app"].state.stepline
            call = Call(
                state,
                runtime_of(state),
                request_id,
                account_id(request.state),
                base_url=str(request.base_url),
            )
            answer = response(p, await handler(call, params), call.request_id)
        except Exception as exc:  # every failure answers in the protocol; bugs are logged, not shown
            answer = rest_json_error(self._error(exc, scope, operation), request_id)
        await answer(scope, receive, send)
        for task in call.after if call is not None else ():
            try:
                await task()
            except Exception:  # the response is sent: log, as Starlette's background tasks would fail
                log.exception("after %s", operation)

    @staticmethod
    def _error(exc: Exception, scope: Scope, operation: str) -> AwsError:
        region = (
            scope["app"].state.stepline.settings.region if hasattr(scope["app"].state, "stepline") else ""
        )
        return (
            lambda_error(exc, region)
            or common_error(exc)
            or internal_error(exc, {"operation": operation, "path": scope["path"]})
        )


def lambda_route() -> PatternRoute:
    """Every path under one of the model's API-version prefixes, matched with one regex and tried
    before the ``/v1`` routes (which it cannot shadow): routing a warm Invoke past ~40 FastAPI routes
    cost a fifth of the request. Request metrics label it ``/{lambda}``."""
    prefixes = "|".join(re.escape(p) for p in lambda_routing.prefixes())
    return PatternRoute(LambdaEndpoint(), re.compile(f"^(?:{prefixes})/"), "/{lambda}")


def mount_lambda(app: Any) -> None:
    """Serve Lambda under every API-version prefix of its model (loads the model: ~30 ms)."""
    app.router.routes.insert(0, lambda_route())
