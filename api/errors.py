"""The one place that turns errors into HTTP responses: RFC 9457 problem+json.

Stepline's errors map by branch of the exception tree (drawn in ``foundation/errors.py``): every
error under a branch gets the branch's status, its message as ``detail``.

DefinitionError        400  every diagnostic listed
InvalidRequest         400  malformed JSON, bad fields (also FastAPI's RequestValidationError);
                            LimitExceeded too (tags, provisioned concurrency)
  PayloadTooLarge      413  (also a body over its route's cap: api.request_limits)
NotFound               404  StateMachineNotFound, ExecutionNotFound, FunctionNotFound, ResourceNotFound, ...
Conflict               409  StateMachineExists, FunctionExists, ResourceExists, NotLatest, ...
IntegrityError         409  a unique or foreign key violation: a concurrent request created (or removed)
                            the same thing between this one's check and its write
Unavailable            503
InvokeError            its status (404, 413, 429 TooManyRequestsException, 500), X-Amzn-ErrorType header
DBAPIError (lost DB)   503  a connection PostgreSQL dropped; the next request reconnects
DBAPIError (bad value) 400  a value asyncpg or PostgreSQL refused (out of range, too long, lone surrogate)
UnicodeEncodeError     400  text from the request that is not valid Unicode (a lone surrogate)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.database_errors import race_conflict, unstorable_value
from foundation.errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, Unavailable
from statemachine import DefinitionError
from workers.functions.errors import InvokeError

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...]) -> str:
    """FastAPI's ``loc`` as a JSON pointer into the request (``body/definition`` -> ``/definition``)."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        return f"{where}:/" + "/".join(parts) if where != "body" else "/" + "/".join(parts)
    return "/" + "/".join(parts)


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx", {})
            message = f"the body is not valid JSON: {ctx.get('error', 'malformed')}"
            loc = err.get("loc", ("body",))
            position = loc[1] if len(loc) > 1 else None
            problems.append({"location": "/", "message": message, "position": position})
        else:
            problems.append({"location": _location(tuple(err.get("loc", ()))), "message": err.get("msg", "")})
    detail = "; ".join(f"{p['location']}: {p['message']}" for p in problems) or "invalid request"
    return problem(400, "Invalid request", detail, errors=problems)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    def handler(status: int, title: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handle(request: Request, exc: Exception) -> JSONResponse:
            return problem(status, title, str(exc))

        return handle

    async def definition_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DefinitionError)
        diagnostics = [
            {"severity": d.severity, "code": d.code, "message": d.message, "location": d.location}
            for d in exc.diagnostics
        ]
        return problem(400, "Invalid definition", str(exc), diagnostics=diagnostics)

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidRequest)
        return problem(400, "Invalid request", exc.detail, errors=exc.problems)

    async def request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def invoke_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvokeError)
        response = problem(exc.status, exc.code, exc.message)
        response.headers["X-Amzn-ErrorType"] = exc.code
        return response

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated:
            return problem(503, "Service unavailable", "the database connection was lost; retry the request")
        if (refused := unstorable_value(exc)) is not None:
            return problem(400, "Invalid request", f"a value in the request cannot be stored: {refused}")
        if isinstance(exc, IntegrityError) and (conflict := race_conflict(exc)) is not None:
            return problem(409, "Conflict", conflict)
        raise exc

    async def unencodable_text(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnicodeEncodeError)
        return problem(
            400, "Invalid request", f"the request holds text that is not valid Unicode: {exc.reason}"
        )

    # Starlette picks the handler of the nearest class in the error's MRO: a branch covers its leaves.
    app.add_exception_handler(DefinitionError, definition_error)
    app.add_exception_handler(InvalidRequest, invalid_request)
    app.add_exception_handler(PayloadTooLarge, handler(413, "Payload too large"))
    app.add_exception_handler(NotFound, handler(404, "Not found"))
    app.add_exception_handler(Conflict, handler(409, "Conflict"))
    app.add_exception_handler(Unavailable, handler(503, "Service unavailable"))
    app.add_exception_handler(InvokeError, invoke_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(UnicodeEncodeError, unencodable_text)


_TITLES = {
    400: "Invalid request",
    401: "Unauthorized",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
}
