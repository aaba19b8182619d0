"""The Lambda Runtime API, served by the worker to one sandbox over a Unix socket.

A deliberately small HTTP/1.1 server (an ``asyncio.Protocol``): the only client is the bootstrap
in one sandbox, keep-alive, one request at a time, so a full HTTP stack would add latency to every
invocation for nothing. Paths and headers are those of the Runtime API (2018-06-01).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "/2018-06-01/runtime"
EXTENSION_PREFIXES = ("/2020-01-01/extension", "/2022-07-01/telemetry")
"""The Extensions and Telemetry APIs, served on the same address (``extensions_api``, ``telemetry``)."""
MAX_BODY = 64 * 1024 * 1024
"""Anything bigger is not a sane runtime request: the connection is dropped."""
MAX_CONNECTIONS = 8
"""Open connections per environment: a runtime needs one or two (a curl-per-request bootstrap: one
at a time). At the cap the server stops accepting until one closes; further connects wait in the
listen backlog (16), then fail with EAGAIN, inside the sandbox only."""
ACCEPTS_PER_SECOND = 500.0
ACCEPT_BURST = 64
"""Accepts per environment (a token bucket): connecting and closing in a loop costs the worker at most
this much event-loop time, whatever the function does."""
OUT_OF_DESCRIPTORS_PAUSE = 0.5
"""How long a server stops accepting when the process is out of descriptors (instead of spinning)."""
WARN_EVERY_SECONDS = 10.0
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class RuntimeHandler(Protocol):
    """What the Runtime API asks of an execution environment."""

    def next_invocation(self, conn: RuntimeConnection) -> None:
        """The runtime waits for an event; answer through ``conn.send_event`` (now or later)."""

    def invocation_response(self, request_id: str, body: bytes) -> int:
        """The handler's result; returns the HTTP status for the runtime."""

    def invocation_error(self, request_id: str, error_type: str | None, body: bytes) -> int:
        """The handler failed; returns the HTTP status for the runtime."""

    def init_error(self, error_type: str | None, body: bytes) -> int:
        """Initialisation failed; returns the HTTP status for the runtime."""

    def extension_request(
        self, conn: RuntimeConnection, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> None:
        """An Extensions or Telemetry API request: answer through ``conn.reply`` (now or later)."""


REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
    413: "Payload Too Large",
}  # fmt: skip


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
    return b"%s%sContent-Length: %d\r\n\r\n%s" % (head.encode(), extra, len(body), body)


ACCEPTED = _response(202, b'{"status":"OK"}')
CREDENTIALS_HEADER = "Stepline-Aws-Credentials"


def client_context_json(value: str | None) -> str | None:
    """Lambda's ClientContext (base64 of a JSON object) as the one-line JSON text the Runtime API's
    ``Lambda-Runtime-Client-Context`` header carries (ASCII: nothing in it can end the header);
    None when there is none or it is not a JSON object."""
    if not value:
        return None
    try:
        doc = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None
    return json.dumps(doc, separators=(",", ":")) if isinstance(doc, dict) else None


class CountedConnection(asyncio.Protocol):
    """A connection a ``RuntimeServer`` counts: it calls ``on_lost`` once when it ends."""

    on_lost: Callable[[], None] | None = None


class RuntimeConnection(CountedConnection):
    """One connection from the bootstrap."""

    def __init__(self, handler: RuntimeHandler) -> None:
        self._handler = handler
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._closed = False
        self.lost = False
        """The connection ended (its socket is closed)."""
        self.on_lost: Callable[[], None] | None = None
        """Called once when the connection ends (the server counts its open connections)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._closed:  # closed between the accept and now: the event loop makes transports later
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.lost = True
        if self.on_lost is not None:
            on_lost, self.on_lost = self.on_lost, None
            on_lost()

    def close(self) -> None:
        """Close the connection now (its environment is going away), or as soon as it is made."""
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    @property
    def open(self) -> bool:
        return not self._closed and self._transport is not None and not self._transport.is_closing()

    def send_event(
        self, request_id: str, deadline_ms: int, arn: str, payload: bytes, *,
        client_context: str | None = None, credentials: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        """Answer a pending ``GET /invocation/next`` with an event: ``arn`` as the caller named the
        function (qualified when a version was), ``client_context`` as Lambda's Invoke API takes it
        (base64 JSON: passed as JSON text, dropped if it is not JSON), ``credentials`` for a function
        with ``aws_api`` (Stepline's ``Stepline-Aws-Credentials`` header: the bootstraps set them)."""
        extra = ""
        context = client_context_json(client_context)
        if context is not None:
            extra += f"Lambda-Runtime-Client-Context: {context}\r\n"
        if credentials:
            extra += f"{CREDENTIALS_HEADER}: {json.dumps(dict(credentials), separators=(',', ':'))}\r\n"
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Lambda-Runtime-Aws-Request-Id: {request_id}\r\n"
            f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
            f"Lambda-Runtime-Invoked-Function-Arn: {arn}\r\n"
            f"Lambda-Runtime-Trace-Id: Root={request_id}\r\n{extra}"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        if self._transport is not None:
            self._transport.write(head.encode() + payload)

    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Write one response (the Extensions and Telemetry APIs answer through this)."""
        if self._transport is not None:
            extra = "".join(f"{key}: {value}\r\n" for key, value in (headers or {}).items())
            self._transport.write(_response(status, body, extra.encode()))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > 65536:
                    self._transport.close()
                return
            head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in head[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            parts = head[0].split(" ")
            if len(parts) != 3:
                self._transport.close()
                return
            method, path = parts[0], parts[1]
            if headers.get("expect", "").lower() == "100-continue":
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                headers.pop("expect")
            length = int(headers.get("content-length", "0") or 0)
            if length > MAX_BODY or "chunked" in headers.get("transfer-encoding", ""):
                self._transport.write(_response(413, b'{"errorType":"RequestEntityTooLarge"}'))
                self._transport.close()
                return
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            self._dispatch(method, path, headers, body)

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        assert self._transport is not None
        if not path.startswith(PREFIX):
            if path.startswith(EXTENSION_PREFIXES):  # (checked second: the runtime's path stays short)
                self._handler.extension_request(self, method, path, headers, body)
            else:
                self._transport.write(_response(404, b'{"errorType":"NotFound"}'))
            return
        route = path[len(PREFIX) :].split("/")
        error_type = headers.get("lambda-runtime-function-error-type")
        status: int | None
        if method == "GET" and route == ["", "invocation", "next"]:
            self._handler.next_invocation(self)
            return
        if method == "POST" and len(route) == 4 and route[1] == "invocation" and route[3] == "response":
            status = self._handler.invocation_response(route[2], body)
        elif method == "POST" and len(route) == 4 and route[1] == "invocation" and route[3] == "error":
            status = self._handler.invocation_error(route[2], error_type, body)
        elif method == "POST" and route == ["", "init", "error"]:
            status = self._handler.init_error(error_type, body)
        else:
            self._transport.write(_response(404, b'{"errorType":"NotFound"}'))
            return
        if status == 202:
            self._transport.write(ACCEPTED)
        elif status == 413:
            self._transport.write(_response(413, b'{"errorType":"RequestEntityTooLarge"}'))
        else:
            self._transport.write(_response(400, b'{"errorType":"InvalidRequestID"}'))


class RuntimeServer:
    """The Unix socket one sandbox connects to, accepting at most ``max_connections`` at a time.

    Not ``loop.create_unix_server``: Python 3.11's ``Server`` loses a connection accepted just before
    it is closed (the transport, built one loop iteration later, fails to attach to the closed server
    and is dropped, socket open, for the garbage collector). Here the accept is a plain reader
    callback, each accepted socket is owned from then on, and ``close`` takes effect at once. The
    reader is removed while the server must not accept (at the cap, over the accept rate, out of
    descriptors) and added back when it may: a flood waits in the sandbox, not in the worker.
    """

    def __init__(
        self, path: str, protocol: Callable[[], CountedConnection], *, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self._max_connections = max_connections
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(path)
            self._listener.listen(16)
            self._listener.setblocking(False)
        except BaseException:
            self._listener.close()
            raise
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._connecting: set[asyncio.Task[None]] = set()
        self._open = 0
        """Accepted connections not ended yet (counted from the accept to their ``connection_lost``)."""
        self._tokens = float(ACCEPT_BURST)
        self._refilled = time.monotonic()
        self._reading = False
        self._resume: asyncio.TimerHandle | None = None
        quiet_accept_errors(self._loop)
        self._start_reading()

    @property
    def open_connections(self) -> int:
        return self._open

    def _start_reading(self) -> None:
        if not self._reading and self._listener.fileno() >= 0:
            self._loop.add_reader(self._listener.fileno(), self._accept)
            self._reading = True

    def _stop_reading(self, for_seconds: float | None = None) -> None:
        """Stop accepting; for a while, or (None) until a connection ends."""
        if self._reading:
            self._loop.remove_reader(self._listener.fileno())
            self._reading = False
        if for_seconds is not None and self._resume is None:
            self._resume = self._loop.call_later(for_seconds, self._resumed)

    def _resumed(self) -> None:
        self._resume = None
        if self._open < self._max_connections:
            self._start_reading()

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(ACCEPT_BURST, self._tokens + (now - self._refilled) * ACCEPTS_PER_SECOND)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _accept(self) -> None:
        while True:
            if self._open >= self._max_connections:
                _warn(f"a sandbox socket has {self._open} connections open: accepting more once one closes")
                self._stop_reading()
                return
            if not self._take_token():
                self._stop_reading((1 - self._tokens) / ACCEPTS_PER_SECOND)
                return
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRNOS:
                    raise
                _warn(f"the Runtime API stopped accepting for {OUT_OF_DESCRIPTORS_PAUSE} s: {exc.strerror}")
                self._stop_reading(OUT_OF_DESCRIPTORS_PAUSE)
                return
            conn.setblocking(False)
            self._open += 1
            task = self._loop.create_task(self._connect(conn))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)

    def _ended(self) -> None:
        """A connection ended: below the cap again, accepting resumes."""
        self._open -= 1
        if self._open < self._max_connections and self._resume is None:
            self._start_reading()

    def _made(self) -> CountedConnection:
        connection = self._protocol()
        connection.on_lost = self._ended
        return connection

    async def _connect(self, conn: socket.socket) -> None:
        if self._listener.fileno() < 0:  # accepted, then closed before this task ran
            conn.close()
            return
        made: list[CountedConnection] = []

        def protocol() -> CountedConnection:
            made.append(self._made())
            return made[-1]

        try:
            await self._loop.connect_accepted_socket(protocol, conn)
        except BaseException:
            conn.close()
            if not made:  # (else its connection_lost counts it)
                self._open -= 1
            raise

    def close(self) -> None:
        """Stop accepting, close the listening socket and any accepted socket not connected yet (the
        connections made are their protocol's owner's to close)."""
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._listener.fileno() >= 0:
            self._stop_reading()
            self._listener.close()


_last_warning = 0.0
_suppressed = 0


def _warn(message: str) -> None:
    """Log a Runtime API warning at most every ``WARN_EVERY_SECONDS`` per process (a flood is not
    allowed to fill the worker's log), saying how many were left out."""
    global _last_warning, _suppressed
    now = time.monotonic()
    if now - _last_warning < WARN_EVERY_SECONDS:
        _suppressed += 1
        return
    more = f" ({_suppressed} more such warnings not logged)" if _suppressed else ""
    _last_warning, _suppressed = now, 0
    log.warning("%s%s", message, more)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Rate-limit asyncio's own "socket.accept() out of system resource" reports on this loop.

    Out of descriptors, Python 3.11's servers (the API's among them) report it with a traceback once
    per pending connection, up to their backlog (2,048 for uvicorn), every second: megabytes a
    second of log. One report per ``WARN_EVERY_SECONDS`` says as much. Other errors pass unchanged.
    """
    previous = loop.get_exception_handler()
    if getattr(previous, "quiets_accept_errors", False):
        return

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "socket.accept() out of system resource":
            exc = context.get("exception")
            _warn(f"a server of this process cannot accept connections: {getattr(exc, 'strerror', exc)}")
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handler.quiets_accept_errors = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)
