"""The invoke endpoint's wire, shared by the worker (``server``) and the API (``api.runtime.remote``).

HTTP/1.1, one request at a time on a kept-alive connection, every body sized by Content-Length (no
chunking). A body is one line of JSON (``meta``: what to do, or what came of it) and then the
payload, untouched: names and a function's ``errorType`` never enter a header, so no value can
forge one, and the payload is never decoded. Every request carries ``Authorization: Bearer
<token>``, a key derived from the deployment's secret (``foundation.sealing``), checked before the
body is read.

    POST /invoke       {function, qualifier, type, client_context}
                       -> FunctionResult's fields, or an InvokeError's code and message
    POST /invoke-task  FunctionCall's fields -> FunctionResult's fields, or a StatesError
    POST /changed      {function, retire, provision}  (a configuration changed: drop caches)
    POST /flush-logs   {}  (write buffered log lines now)

A result's fields travel as the dataclass's own fields (``to_meta`` / ``from_meta``), so the wire
follows the types it carries.
"""

from __future__ import annotations

import dataclasses
import hmac
import socket
from asyncio import StreamReader
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import orjson

from foundation.sealing import Sealer
from foundation.settings import Settings
from workers.functions.config import MAX_PAYLOAD_BYTES
from workers.functions.errors import (
    InvalidParameterError,
    InvokeError,
    RequestTooLargeError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
)

INVOKE = "/invoke"
INVOKE_TASK = "/invoke-task"
CHANGED = "/changed"
PREPARE = "/prepare"
"""Prepare the environment a deployed function's first cold start takes (``{"function", "version"}``)."""
FLUSH_LOGS = "/flush-logs"
IN_USE = "/in-use"
"""How many invocations of a function the worker runs now (``{"in_use": n}``)."""
PATHS = frozenset({INVOKE, INVOKE_TASK, CHANGED, PREPARE, FLUSH_LOGS, IN_USE})

TOKEN_PURPOSE = "worker-invoke-v1"
MAX_HEAD_BYTES = 8 * 1024
MAX_BODY_BYTES = MAX_PAYLOAD_BYTES + 64 * 1024
"""The largest payload an invocation takes, and room for its ``meta``."""

_REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}  # fmt: skip
_INVOKE_ERRORS: dict[str, type[InvokeError]] = {
    cls.code: cls
    for cls in (ResourceNotFoundError, InvalidParameterError, RequestTooLargeError, TooManyRequestsError)
}


class WireError(Exception):
    """A message that breaks the wire's rules; ``status`` is the answer to give (then close)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)

    def meta(self) -> dict[str, Any]:
        """The answer's meta: the refusal's name and what is wrong."""
        return {"error": _REASONS.get(self.status, "Bad Request").replace(" ", ""), "message": str(self)}


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


D = TypeVar("D", bound=_Dataclass)


def endpoint_token(settings: Settings) -> bytes:
    """The bearer token of every worker endpoint of this deployment (``STEPLINE_SECRET_KEY``, else the
    data directory's key file: processes on one machine sharing it agree)."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Sealer.from_settings(secret, settings.data_dir).derive(TOKEN_PURPOSE).hex().encode()


@cache
def host_id() -> str:
    """This machine: its host name and boot id (a Unix socket of another boot or machine is unreachable)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"[:255]


# messages -----------------------------------------------------------------------------------------


def request_bytes(path: str, token: bytes, meta: dict[str, Any], payload: bytes = b"") -> bytes:
    body = orjson.dumps(meta) + b"\n" + payload
    return (
        b"POST %s HTTP/1.1\r\nHost: stepline-worker\r\nAuthorization: Bearer %s\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (path.encode(), token, len(body), body)
    )


def response_bytes(status: int, meta: dict[str, Any], payload: bytes = b"") -> bytes:
    body = orjson.dumps(meta) + b"\n" + payload
    reason = _REASONS.get(status, "Unknown").encode()
    return b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n\r\n%s" % (status, reason, len(body), body)


async def read_request(reader: StreamReader, token: bytes) -> tuple[str, dict[str, Any], bytes]:
    """The next request's path, meta and payload; ``IncompleteReadError`` when the client left between
    requests; ``WireError`` for a request that must be refused (unauthenticated ones unread)."""
    start, headers = await _read_head(reader)
    parts = start.split(b" ")
    if len(parts) != 3 or parts[0] != b"POST" or not parts[2].startswith(b"HTTP/1."):
        raise WireError(400, "only POST requests over HTTP/1.1")
    given = headers.get(b"authorization", b"")
    if not hmac.compare_digest(given, b"Bearer " + token):
        raise WireError(
            401, "a bearer token of this deployment is required (do the API and the worker share "
            "STEPLINE_SECRET_KEY, or one data directory?)",
        )  # fmt: skip
    path = parts[1].decode("latin-1")
    if path not in PATHS:
        raise WireError(404, f"no such operation: {path[:64]}")
    meta, payload = _split(await _read_body(reader, headers))
    return path, meta, payload


async def read_response(reader: StreamReader) -> tuple[int, dict[str, Any], bytes]:
    """The response's status, meta and payload."""
    start, headers = await _read_head(reader)
    try:
        status = int(start.split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise WireError(502, f"not an HTTP response: {start[:64]!r}") from None
    meta, payload = _split(await _read_body(reader, headers))
    return status, meta, payload


async def _read_head(reader: StreamReader) -> tuple[bytes, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")  # the reader's limit bounds it (``MAX_HEAD_BYTES``)
    lines = head[:-4].split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise WireError(400, "a header line without a colon")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _read_body(reader: StreamReader, headers: dict[bytes, bytes]) -> bytes:
    try:
        length = int(headers[b"content-length"])
    except (KeyError, ValueError):
        raise WireError(400, "a Content-Length is required") from None
    if not 0 <= length <= MAX_BODY_BYTES:
        raise WireError(413, f"a body of {length} bytes is over {MAX_BODY_BYTES}")
    return await reader.readexactly(length)


def _split(body: bytes) -> tuple[dict[str, Any], bytes]:
    line, _, payload = body.partition(b"\n")
    try:
        meta = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise WireError(400, "the body must start with a line of JSON") from None
    if not isinstance(meta, dict):
        raise WireError(400, "the body must start with a JSON object")
    return meta, payload


# what the messages carry -----------------------------------------------------------------------------


def to_meta(value: _Dataclass) -> tuple[dict[str, Any], bytes]:
    """A dataclass with a ``payload: bytes`` field as (its other fields, its payload)."""
    meta = {name: getattr(value, name) for name in _fields(type(value))}
    return meta, getattr(value, "payload", b"")


def from_meta(cls: type[D], meta: dict[str, Any], payload: bytes) -> D:
    """The dataclass back from ``to_meta``'s parts (fields it does not know are ignored)."""
    try:
        return cls(payload=payload, **{k: v for k, v in meta.items() if k in _fields(cls)})  # type: ignore[call-arg]
    except TypeError as exc:
        raise WireError(400, f"malformed {cls.__name__}: {exc}") from None


@cache
def _fields(cls: type[_Dataclass]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.name != "payload")


def error_meta(exc: InvokeError) -> tuple[int, dict[str, Any]]:
    return exc.status, {"error": exc.code, "message": exc.message}


def invoke_error(status: int, meta: dict[str, Any]) -> InvokeError:
    """The ``InvokeError`` a worker answered with; an unknown one is the worker's failure (500)."""
    code, message = str(meta.get("error")), str(meta.get("message") or "")
    known = _INVOKE_ERRORS.get(code)
    if known is not None:
        return known(message)
    if code == ServiceError.code:
        return ServiceError(message or f"the worker answered {status}")
    return ServiceError(f"the worker refused the request ({status} {code}): {message}")
