"""EventBridge Scheduler's endpoint: restJson1 at ``/schedules``, ``/schedule-groups`` and ``/tags``
(boto3's ``scheduler`` client pointed at this API), routed and checked from botocore's model with
Lambda's machinery (``api.aws.lambda_routing``, ``api.aws.lambda_wire``), signed as every AWS route.

Errors, in AWS's names and the restJson1 shape:

ValidationException        400  the model's constraints, a bad expression or target, a member
                                Stepline does not serve
ResourceNotFoundException  404  no such schedule or group
ConflictException          409  a schedule or group that exists already
UnsupportedOperation       400  an operation of the model without a handler (none today)
UnknownOperationException  404  a path and method no Scheduler operation has
InternalServerException    500  a bug (logged)

``DeadLetterConfig.Arn``: the model allows SQS queue ARNs only; Stepline has no queues, so the
member is checked here instead (a function, state machine or event bus of this Stepline) and the
rest of the request against the model.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api.aws.errors import AwsError, common_error, internal_error, new_request_id, rest_json_error
from api.aws.lambda_wire import parse_request, plan, response
from api.aws.rest_json import PatternRoute, operation_of, query_of
from api.aws.scheduler_operations import OPERATIONS, Call
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry.tags import TagLimitExceeded

log = logging.getLogger(__name__)
SERVICE = "scheduler"
PATH = re.compile(r"^/(?:schedules|schedule-groups|tags)(?:/|$)")
"""The paths of Scheduler's operations (no other endpoint of this API uses them)."""
_SQS_PLACEHOLDER = "arn:aws:sqs:us-east-1:000000000000:stepline"


def scheduler_error(exc: Exception) -> AwsError:
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, NotFound):
        return AwsError("ResourceNotFoundException", exc.detail, 404)
    if isinstance(exc, Conflict):
        return AwsError("ConflictException", exc.detail, 409)
    if isinstance(exc, InvalidRequest | TagLimitExceeded):
        return AwsError("ValidationException", str(getattr(exc, "detail", exc)))
    if isinstance(exc, ValidationError):
        return AwsError("ValidationException", str(exc.errors()[0].get("msg")))
    found = common_error(exc)
    if found is not None:
        return found
    error = internal_error(exc, {"service": SERVICE})
    return AwsError("InternalServerException", error.message, 500)


def _dead_letter_aside(body: bytes) -> tuple[bytes, str | None]:
    """The body with an SQS placeholder for ``Target.DeadLetterConfig.Arn``, and the ARN given."""
    if b"DeadLetterConfig" not in body:
        return body, None
    try:
        decoded = orjson.loads(body)
        dead = decoded["Target"]["DeadLetterConfig"]
        arn = dead["Arn"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body, None  # the model's check says what is wrong
    if not isinstance(arn, str) or not 1 <= len(arn) <= 1600:
        return body, None
    dead["Arn"] = _SQS_PLACEHOLDER
    return orjson.dumps(decoded), arn


class SchedulerEndpoint:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        request = Request(scope, receive)
        try:
            query = query_of(scope)
            found = operation_of(scope, query, SERVICE, "Scheduler", "ValidationException")
            handler = OPERATIONS.get(found.operation)
            if handler is None:
                raise AwsError(
                    "UnsupportedOperation", f"{found.operation} is not supported by this Stepline."
                )
            p = plan(found.operation, SERVICE)
            body, dead_letter = _dead_letter_aside(await request.body())
            headers = dict(request.headers.items())
            params = parse_request(p, found.labels, query, headers, body)
            if dead_letter is not None:
                params["Target"]["DeadLetterConfig"]["Arn"] = dead_letter
            call = Call(scope["app"].state.stepline, request_id)
            answer = response(p, await handler(call, params), request_id)
        except Exception as exc:  # every failure answers in the protocol; bugs are logged, not shown
            answer = rest_json_error(scheduler_error(exc), request_id)
        await answer(scope, receive, send)


def mount_scheduler(app: Any) -> None:
    """Scheduler's paths. No other route matches them, so it is tried after all the others: the hot
    paths (``/v1`` invocations and executions, Lambda, Step Functions) never pay for its match.
    Request metrics label it ``/{scheduler}``."""
    app.router.routes.append(PatternRoute(SchedulerEndpoint(), PATH, "/{scheduler}"))
