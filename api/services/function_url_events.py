"""What a function URL hands its function and what it answers (pure): Lambda's function-URL event
(payload format 2.0), the response mapped back to HTTP, and CORS.

The event: ``rawPath``, ``rawQueryString``, ``cookies`` (from the Cookie header, which is then left
out of ``headers``), ``headers`` (lower-case names, repeated ones joined by commas),
``queryStringParameters`` (repeated ones joined by commas), ``requestContext`` (``http``: method,
path, protocol, sourceIp, userAgent), ``body`` (base64 unless it is text) and ``isBase64Encoded``.

The response: an object with ``statusCode`` is read as Lambda reads it (``headers``, ``cookies``,
``body``, ``isBase64Encoded``); any other JSON value is the body of a 200 ``application/json``
response, as Lambda infers.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from api import function_url_schemas as schemas

TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "+json", "+xml")
TEXT_TYPES_EXACT = ("application/x-www-form-urlencoded",)


@dataclass(frozen=True, slots=True)
class UrlRequest:
    """The HTTP request as the URL's route reads it."""

    method: str
    path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


@dataclass(slots=True)
class UrlResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith(TEXT_TYPES) or kind.endswith(("+json", "+xml")) or kind in TEXT_TYPES_EXACT


def function_url_event(
    request: UrlRequest, url_id: str, request_id: str, account_id: str, region: str, now: float | None = None
) -> dict[str, Any]:
    """Lambda's function-URL event (payload format 2.0) for ``request``."""
    moment = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    domain = f"{url_id}.lambda-url.{region}.on.aws"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": url_id,
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": datetime.fromtimestamp(moment, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(moment * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if request.body:
        text = _is_text(headers.get("content-type", "")) and _utf8(request.body)
        event["body"] = request.body.decode() if text else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = not text
    return event


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def url_response(payload: bytes) -> UrlResponse:
    """The HTTP response for a function's result (not an error); a malformed one is a 502."""
    try:
        value = json.loads(payload) if payload.strip() else None
    except ValueError:
        return UrlResponse(200, [("content-type", "application/json")], payload)
    if not (isinstance(value, dict) and "statusCode" in value):
        return UrlResponse(200, [("content-type", "application/json")], payload)
    try:
        return _structured(value)
    except (AttributeError, TypeError, ValueError, binascii.Error):
        return bad_gateway()


def _structured(value: dict[str, Any]) -> UrlResponse:
    status = value["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("statusCode")
    headers = [(str(k).lower(), str(v)) for k, v in (value.get("headers") or {}).items()]
    headers += [("set-cookie", str(c)) for c in value.get("cookies") or []]
    for name, text in headers:
        _check_header(name, text)
    body = value.get("body")
    if body is None:
        data = b""
    elif value.get("isBase64Encoded"):
        data = base64.b64decode(str(body), validate=True)
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    if body is not None and not any(k == "content-type" for k, _ in headers):
        headers.append(
            (
                "content-type",
                "application/json" if not value.get("isBase64Encoded") else "application/octet-stream",
            )
        )
    return UrlResponse(status, headers, data)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9a-z-]+")


def _check_header(name: str, value: str) -> None:
    """A header a function returns is a token and a latin-1 value without CR, LF or NUL (no response
    splitting): else the response is a 502."""
    if not _TOKEN.fullmatch(name) or any(c in value for c in "\r\n\0") or not value.isprintable():
        raise ValueError(f"header {name!r}")
    value.encode("latin-1")  # UnicodeEncodeError is a ValueError


def bad_gateway() -> UrlResponse:
    return UrlResponse(502, [("content-type", "application/json")], b'{"Message":"Internal Server Error"}')


def error(status: int, message: str) -> UrlResponse:
    return UrlResponse(
        status, [("content-type", "application/json")], json.dumps({"Message": message}).encode()
    )


# CORS ------------------------------------------------------------------------------------------


def _origin_allowed(cors: schemas.Cors, origin: str) -> str | None:
    allowed = cors.allow_origins or []
    if "*" in allowed:
        return "*" if not cors.allow_credentials else origin
    return origin if origin in allowed else None


def preflight(cors: schemas.Cors, headers: dict[str, str]) -> UrlResponse:
    """The answer to a CORS preflight (``OPTIONS`` with ``Origin`` and
    ``Access-Control-Request-Method``): the function is not invoked."""
    out: list[tuple[str, str]] = []
    origin = _origin_allowed(cors, headers.get("origin", ""))
    method = headers.get("access-control-request-method", "").upper()
    methods = [m.upper() for m in cors.allow_methods or []]
    if origin is not None and ("*" in methods or method in methods):
        out.append(("access-control-allow-origin", origin))
        out.append(("access-control-allow-methods", ",".join(methods)))
        if cors.allow_headers:
            out.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
        if cors.allow_credentials:
            out.append(("access-control-allow-credentials", "true"))
        if cors.max_age is not None:
            out.append(("access-control-max-age", str(cors.max_age)))
        if origin != "*":
            out.append(("vary", "Origin"))
    return UrlResponse(200, out)


def with_cors(response: UrlResponse, cors: schemas.Cors, origin: str | None) -> UrlResponse:
    """``response`` with the URL's CORS headers in place of any the function set."""
    response.headers = [(k, v) for k, v in response.headers if not k.startswith("access-control-")]
    allowed = _origin_allowed(cors, origin) if origin else None
    if allowed is not None:
        response.headers.append(("access-control-allow-origin", allowed))
        if cors.expose_headers:
            response.headers.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
        if cors.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))
        if allowed != "*":
            response.headers.append(("vary", "Origin"))
    return response
