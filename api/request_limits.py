"""What every request must satisfy before a route sees it: no NUL in its URL, a body within its cap.

One plain ASGI middleware (no BaseHTTPMiddleware: the invocation route's budget is about a millisecond):

- a NUL character (``%00``) anywhere in the path or the query string is a 400: PostgreSQL cannot store
  or even compare text holding one, so a name or value carrying it could only fail further in;
- a body over its route's cap is a 413 naming the cap, refused from ``Content-Length`` before a byte
  is read, or, for a body without one (chunked), as soon as the bytes counted so far pass the cap:
  the rest is never read, so memory never holds more than the cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.aws.auth import aws_protocol, refusal
from api.errors import problem
from workers.functions.codestore import MAX_ZIP_BYTES
from workers.functions.config import MAX_PAYLOAD_BYTES

MIB = 1024 * 1024

FUNCTION_CODE_BODY = MAX_ZIP_BYTES * 4 // 3 + MIB
"""Create and update of a function: the base64 of a zip at Lambda's 50 MiB direct-upload limit
(``MAX_ZIP_BYTES``), plus a mebibyte for the rest of the JSON (about 68 MiB)."""
INVOCATION_BODY = MAX_PAYLOAD_BYTES
"""An invocation's payload: Lambda's 6 MiB for a synchronous invocation."""
DEFAULT_BODY = MIB
"""Everything else, Step Functions' included: its maximum request size is 1 MB, which holds a 1 MB
definition and a 256 KiB input even when escaped as ``inputText`` (the input's own 256 KiB limit is
checked, with its own 413, once the body is decoded)."""


@dataclass(frozen=True, slots=True)
class BodyCap:
    """The largest body a route takes."""

    method: str
    path: re.Pattern[str]
    limit: int


IMAGE_BODY = 10 * 1024 * MIB
"""An image archive (``POST /v1/images``), streamed to disk: Lambda's 10 GB image size."""

BODY_CAPS = (
    BodyCap("POST", re.compile(r"/v1/images/?"), IMAGE_BODY),
    BodyCap("POST", re.compile(r"/v1/functions/[^/]+/invocations"), INVOCATION_BODY),
    BodyCap("POST", re.compile(r"/v1/functions/?"), FUNCTION_CODE_BODY),
    BodyCap("PUT", re.compile(r"/v1/functions/[^/]+/?"), FUNCTION_CODE_BODY),
    BodyCap("POST", re.compile(r"/2015-03-31/functions/[^/]+/invocations/?"), INVOCATION_BODY),
    BodyCap("POST", re.compile(r"/2015-03-31/functions/?"), FUNCTION_CODE_BODY),
    BodyCap("PUT", re.compile(r"/2015-03-31/functions/[^/]+/code/?"), FUNCTION_CODE_BODY),
)
"""Routes whose cap is not ``DEFAULT_BODY`` (the first match wins): ``/v1`` and the same operations
on Lambda's own paths (Invoke, CreateFunction, UpdateFunctionCode)."""


def body_cap(method: str, path: str) -> int:
    """The most bytes a ``method`` request to ``path`` may send as its body."""
    if path.startswith("/lambda-url/"):  # a function URL's request: an invocation's payload
        return INVOCATION_BODY
    if "/functions" in path or path.startswith("/v1/images"):  # BODY_CAPS' routes: others skip them
        for cap in BODY_CAPS:
            if cap.method == method and cap.path.fullmatch(path):
                return cap.limit
    return DEFAULT_BODY


class BodyTooLarge(HTTPException):
    """A body over its route's cap (413). An ``HTTPException`` so that FastAPI's body parsing lets it
    through unchanged wherever the body is read; ``api.errors`` renders it as problem+json."""

    def __init__(self, limit: int, method: str, path: str) -> None:
        super().__init__(413, f"the request body is over the {limit}-byte limit of {method} {path}")


class RequestLimits:
    """The checks in this module's docstring, around the whole application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            where = "path" if "\x00" in path else "query string"
            detail = f"the {where} holds a NUL character (%00), which no name or value may contain"
            await _refused(scope, 400, "ValidationException", "Invalid request", detail)(scope, receive, send)
            return
        method: str = scope["method"]
        limit = body_cap(method, path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(BodyTooLarge(limit, method, path), scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, method, path)
            return message

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_tracked)
        except BodyTooLarge as exc:  # read where no exception handler catches it
            if started:
                raise
            await _too_large(exc, scope, receive, send)


async def _too_large(exc: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    detail = str(exc.detail)
    await _refused(scope, 413, "RequestTooLargeException", "Payload too large", detail)(scope, receive, send)


def _refused(scope: Scope, status: int, aws_code: str, title: str, detail: str) -> ASGIApp:
    """The refusal in the caller's protocol: AWS SDKs read errors from their protocol's shape, every
    other client from problem+json."""
    protocol = aws_protocol(scope)
    if protocol is not None:
        return refusal(protocol, aws_code, detail, status)
    return problem(status, title, detail)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses it; counting still applies
    return None
