"""AWS errors on the wire, for both protocols, and the errors every AWS endpoint maps the same way.

AwsError(code, message, status)   raised by the AWS endpoints' code; one per AWS error code
awsJson1_0 (Step Functions)       HTTP status, ``{"__type": code, "message": ...}``
restJson1 (Lambda)                HTTP status, ``X-Amzn-ErrorType: code``, ``{"Type": "User"|"Server",
                                  "Message": ...}``
every response                    ``x-amzn-RequestId`` (botocore reports it as the request id)

``common_error(exc)`` maps the failures that are no service's business (a lost database
connection, a value PostgreSQL refuses, a backing service that does not answer) to AWS's codes;
each service maps its own domain errors (``api.aws.sfn_errors``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response

from api.database_errors import unstorable_value
from foundation.errors import Unavailable
from statemachine import SteplineError

JSON10 = "application/x-amz-json-1.0"
REQUEST_ID = "x-amzn-RequestId"
INTERNAL_MESSAGE = "The request processing has failed because of an unknown error, exception or failure."

log = logging.getLogger(__name__)


class AwsError(SteplineError):
    """An AWS error response: ``code`` as AWS names it, ``status`` 400 unless the model says otherwise."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")

    @property
    def fault(self) -> str:
        """``User`` for the caller's errors (4xx), ``Server`` for ours (5xx)."""
        return "Server" if self.status >= 500 else "User"


def new_request_id() -> str:
    return str(uuid.uuid4())


def json10_error(error: AwsError, request_id: str) -> Response:
    """An awsJson1_0 error response."""
    body = orjson.dumps({"__type": error.code, "message": error.message})
    return Response(body, error.status, {REQUEST_ID: request_id}, media_type=JSON10)


def rest_json_error(error: AwsError, request_id: str, headers: dict[str, str] | None = None) -> Response:
    """A restJson1 error response, as Lambda answers."""
    body = orjson.dumps({"Type": error.fault, "Message": error.message})
    extra = {REQUEST_ID: request_id, "X-Amzn-ErrorType": error.code, **(headers or {})}
    return Response(body, error.status, extra, media_type="application/json")


def common_error(exc: Exception) -> AwsError | None:
    """The AWS error for a failure outside any service's domain; None when it is a bug."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, Unavailable):
        return AwsError("ServiceUnavailable", exc.detail, 503)
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return AwsError("ServiceUnavailable", "The database connection was lost; retry the request.", 503)
        refused = unstorable_value(exc)
        if refused is not None:
            return AwsError("ValidationException", f"A value in the request cannot be stored: {refused}")
        return None
    if isinstance(exc, UnicodeEncodeError):
        return AwsError(
            "ValidationException", f"The request holds text that is not valid Unicode: {exc.reason}"
        )
    return None


def internal_error(exc: BaseException, context: dict[str, Any]) -> AwsError:
    """A bug: logged with its traceback, answered without one."""
    log.error("AWS request failed: %s", context, exc_info=exc)
    return AwsError("InternalFailure", INTERNAL_MESSAGE, 500)
