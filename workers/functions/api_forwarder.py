"""The worker's end of a sandbox's AWS API socket: each request checked, then passed to the API.

A function with ``aws_api`` reaches nothing outside its sandbox but this socket
(/run/lambda/aws.sock). Requests are parsed strictly and passed on re-written from what was parsed
(request line, each header, exactly ``Content-Length`` bytes of body), so the API never reads a
request boundary the forwarder read otherwise (no request smuggling). Only requests that

- go to an AWS API route (Step Functions' ``POST /``, Lambda's ``/20YY-MM-DD/...``; never ``/v1``),
- are SigV4-signed with a Stepline session token (``X-Amz-Security-Token``: the API then always
  verifies them, even where it would let an unsigned or any-key request in, on loopback),

pass; anything else is answered here (400 for what is not plain HTTP/1.1: ``Transfer-Encoding``,
``Upgrade``, a header given twice, a dot segment, bytes that are not printable ASCII; 403
otherwise) and the
connection is closed. Responses flow back as the API sends them. One upstream connection per
sandbox connection; at most ``MAX_CONNECTIONS`` per sandbox (``RuntimeServer`` caps them and their
accept rate, as for the Runtime API).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from foundation.session_credentials import is_stepline_token
from workers.functions.aws_api import Upstream
from workers.functions.runtime_api import CountedConnection, RuntimeServer

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_BODY = 80 * 1024 * 1024
"""Above the API's own largest (CreateFunction's ~68 MB): the API answers the exact limits."""
MAX_CONNECTIONS = 32
CONNECT_TIMEOUT_SECONDS = 5.0
HIGH_WATER = 1024 * 1024
"""Bytes held for the API before the sandbox's connection stops being read."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
REFUSED_HEADERS = frozenset({"transfer-encoding", "upgrade", "http2-settings"})
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(rb"[\t\x20-\x7e]*")
_TARGET = re.compile(rb"/[\x21-\x7e]*")
_LAMBDA_PATH = re.compile(rb"/20\d\d-\d\d-\d\d/")
_REASONS = {400: "Bad Request", 403: "Forbidden", 503: "Service Unavailable"}
WARN_EVERY_SECONDS = 10.0


class Refused(Exception):
    """A request the forwarder answers itself."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)

    def response(self) -> bytes:
        """In both AWS protocols' error shapes (awsJson's ``__type``, restJson's header and
        ``Message``), so the SDK raises a ClientError with ``code``."""
        body = json.dumps({"__type": self.code, "message": self.message, "Message": self.message}).encode()
        head = (
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nX-Amzn-ErrorType: {self.code}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body


def _bad(message: str) -> Refused:
    return Refused(400, "BadRequest", message)


def _denied(message: str) -> Refused:
    return Refused(403, "AccessDeniedException", message)


@dataclass(frozen=True, slots=True)
class Request:
    head: bytes
    """The request line and headers, re-written from what was parsed."""
    body_length: int


def parse_request(head: bytes) -> Request:
    """Check one request head (without its blank line) and re-write it; raises ``Refused``."""
    lines = head.split(b"\r\n")
    if any(b"\r" in line or b"\n" in line for line in lines):
        raise _bad("lines must end with CRLF")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or parts[0].decode("latin-1") not in METHODS:
        raise _bad("the request line must be 'METHOD /path HTTP/1.1'")
    method, target = parts[0], parts[1]
    if not _TARGET.fullmatch(target):
        raise _bad("the request target must be a path")
    headers: dict[str, bytes] = {}
    out = [b"%s %s HTTP/1.1\r\n" % (method, target)]
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        value = value.strip(b" \t")
        if not colon or not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            raise _bad("malformed header line")
        key = name.decode("latin-1").lower()
        if key in headers:
            raise _bad(f"header {key} given twice")
        if key in REFUSED_HEADERS:
            raise _bad(f"header {key} is not supported")
        headers[key] = value
        out.append(b"%s: %s\r\n" % (name, value))
    length = headers.get("content-length", b"0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise _bad("Content-Length must be a number of bytes up to 80 MB")
    if "host" not in headers:
        raise _bad("the Host header is missing")
    path = target.split(b"?", 1)[0]
    if any(segment in (b".", b"..") for segment in path.split(b"/")):
        raise _bad("the path must not have '.' or '..' segments")
    if not ((method == b"POST" and path == b"/") or _LAMBDA_PATH.match(path)):
        raise _denied("functions may call the AWS APIs (Step Functions, Lambda) only")
    if not headers.get("authorization", b"").startswith(b"AWS4-HMAC-SHA256 ") or not is_stepline_token(
        headers.get("x-amz-security-token", b"").decode("latin-1")
    ):
        raise _denied("requests must be signed with the function's credentials (AWS_* variables)")
    out.append(b"\r\n")
    return Request(b"".join(out), int(length))


class ApiForwarder:
    """One sandbox's AWS API socket (``path``), forwarding to ``upstream``."""

    def __init__(self, path: Path, upstream: Upstream) -> None:
        self._upstream = upstream
        self._tls = ssl.create_default_context() if upstream.tls else None
        self._connections: set[ForwardedConnection] = set()
        self._closed = False
        self._server = RuntimeServer(str(path), self._made, max_connections=MAX_CONNECTIONS)
        path.chmod(0o777)  # an unprivileged sandbox user connects to it

    def _made(self) -> ForwardedConnection:
        connection = ForwardedConnection(self._upstream, self._tls, self._connections.discard)
        self._connections.add(connection)
        if self._closed:
            connection.close()
        return connection

    def close(self) -> None:
        """Stop accepting and close every connection now (the environment is going away)."""
        self._closed = True
        self._server.close()
        for connection in list(self._connections):
            connection.close()


class ForwardedConnection(CountedConnection):
    """One connection from the sandbox and its connection to the API."""

    def __init__(
        self, upstream: Upstream, tls: ssl.SSLContext | None, forget: Callable[[ForwardedConnection], None]
    ) -> None:
        self._upstream = upstream
        self._tls = tls
        self._forget = forget
        self._client: asyncio.Transport | None = None
        self._api: asyncio.Transport | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._buffer = bytearray()
        self._body_left = 0
        self._pending: list[bytes] = []
        """Bytes for the API while its connection is being made."""
        self._pending_size = 0
        self._closed = False

    # the sandbox's side -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._client = transport
        if self._closed:
            transport.close()
            return
        self._connecting = asyncio.get_running_loop().create_task(self._connect())

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._buffer += data
        try:
            self._forward()
        except Refused as refused:
            self._refuse(refused)

    def _forward(self) -> None:
        while self._buffer:
            if self._body_left:
                chunk = bytes(self._buffer[: self._body_left])
                del self._buffer[: len(chunk)]
                self._body_left -= len(chunk)
                self._send(chunk)
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise _bad("the request head is over 64 KB")
                return
            request = parse_request(bytes(self._buffer[:end]))
            del self._buffer[: end + 4]
            self._send(request.head)
            self._body_left = request.body_length

    def eof_received(self) -> bool:
        """Keep the connection half open: responses to what was sent still come back. (Not passed
        on: the API would drop a response it has not written yet.)"""
        return True

    def pause_writing(self) -> None:
        if self._api is not None:
            self._api.pause_reading()

    def resume_writing(self) -> None:
        if self._api is not None and not self._closed:
            self._api.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()
        self._forget(self)
        if self.on_lost is not None:
            on_lost, self.on_lost = self.on_lost, None
            on_lost()

    def close(self) -> None:
        """Close both ends now."""
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        for transport in (self._api, self._client):
            if transport is not None:
                transport.abort()

    # the API's side --------------------------------------------------------------------------

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        up = self._upstream
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                api, _ = await loop.create_connection(
                    lambda: _ApiSide(self), up.host, up.port, ssl=self._tls,
                    server_hostname=up.host if self._tls else None,
                )  # fmt: skip
        except (OSError, TimeoutError) as exc:
            _warn(f"functions' AWS API calls cannot reach the API at {up.host}:{up.port}: {exc}")
            self._refuse(Refused(503, "ServiceUnavailableException", "Stepline's API cannot be reached"))
            return
        assert isinstance(api, asyncio.Transport)
        if self._closed:
            api.abort()
            return
        self._api = api
        pending, self._pending, self._pending_size = self._pending, [], 0
        api.write(b"".join(pending))
        self.resume_sandbox()

    def _send(self, data: bytes) -> None:
        if self._api is not None:
            self._api.write(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size > HIGH_WATER:
            self.pause_sandbox()

    def pause_sandbox(self) -> None:
        """The API's connection holds too much unsent: stop reading the sandbox's."""
        if self._client is not None:
            self._client.pause_reading()

    def resume_sandbox(self) -> None:
        if self._client is not None and not self._closed:
            self._client.resume_reading()

    def from_api(self, data: bytes) -> None:
        if self._client is not None and not self._closed:
            self._client.write(data)

    def api_lost(self) -> None:
        """The API closed its end: so does the sandbox's, once what the API sent is written."""
        self._api = None
        if self._client is not None and not self._closed:
            self._closed = True
            self._client.close()

    def _refuse(self, refused: Refused) -> None:
        """Answer ``refused`` and close (a response to an earlier request still in flight is cut:
        only a pipelining client could have one, and the SDKs do not pipeline)."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        if self._connecting is not None:
            self._connecting.cancel()
        if self._api is not None:
            self._api.abort()
        if self._client is not None:
            self._client.write(refused.response())
            self._client.close()


class _ApiSide(asyncio.Protocol):
    def __init__(self, owner: ForwardedConnection) -> None:
        self._owner = owner

    def data_received(self, data: bytes) -> None:
        self._owner.from_api(data)

    def pause_writing(self) -> None:
        self._owner.pause_sandbox()

    def resume_writing(self) -> None:
        self._owner.resume_sandbox()

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.api_lost()


_last_warning = 0.0


def _warn(message: str) -> None:
    """At most one warning per ``WARN_EVERY_SECONDS``: a function reconnecting in a loop while the
    API is down must not fill the worker's log."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        log.warning("%s", message)
