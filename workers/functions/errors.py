"""Failures of an invocation itself (not of the function), named as Lambda's Invoke API names them.

    InvokeError                     base; ``code`` is Lambda's exception name, ``status`` its HTTP status
    ├── ResourceNotFoundError       no such function or version                  (404)
    ├── InvalidParameterError       bad configuration or request                  (400)
    ├── RequestTooLargeError        payload over the limit                        (413)
    ├── TooManyRequestsError        a concurrency limit is reached                (429)
    └── ServiceError                the runtime itself failed (sandbox start ...) (500)

A function's own failure (handler exception, timeout, out of memory) is not an exception: it comes
back as a ``FunctionResult`` with ``function_error`` set, as Lambda returns it.
"""

from __future__ import annotations

from statemachine import SteplineError


class InvokeError(SteplineError):
    """An invocation that could not run."""

    code = "ServiceException"
    status = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ResourceNotFoundError(InvokeError):
    code = "ResourceNotFoundException"
    status = 404


class InvalidParameterError(InvokeError):
    code = "InvalidParameterValueException"
    status = 400


class RequestTooLargeError(InvokeError):
    code = "RequestTooLargeException"
    status = 413


class TooManyRequestsError(InvokeError):
    code = "TooManyRequestsException"
    status = 429


class ServiceError(InvokeError):
    code = "ServiceException"
    status = 500
