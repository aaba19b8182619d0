"""The worker's end of a sandbox's AWS API socket: what passes to the API, re-written, and what is
answered at the socket (a Unix socket and a stand-in API on a loopback port: real sockets)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from foundation.session_credentials import TOKEN_PREFIX
from workers.functions.api_forwarder import ApiForwarder, Refused, parse_request
from workers.functions.aws_api import Upstream

SIGNED = (
    b"Host: 127.0.0.1:9002\r\nAuthorization: AWS4-HMAC-SHA256 Credential=ASIA/x, SignedHeaders=host, "
    b"Signature=00\r\nX-Amz-Security-Token: " + TOKEN_PREFIX.encode() + b"e30\r\n"
)


def head(request_line: bytes, headers: bytes = SIGNED) -> bytes:
    return request_line + b"\r\n" + headers.removesuffix(b"\r\n")


@pytest.mark.parametrize(
    ("raw", "length"),
    [
        (head(b"POST / HTTP/1.1", SIGNED + b"Content-Length: 2\r\n"), 2),
        (head(b"GET /2015-03-31/functions/?MaxItems=1 HTTP/1.1"), 0),
        (head(b"POST /2015-03-31/functions/fn/invocations HTTP/1.1", SIGNED + b"Content-Length:  7 \r\n"), 7),
    ],
    ids=["step-functions", "lambda-query", "lambda-invoke"],
)
def test_aws_requests_with_a_session_token_pass_rewritten(raw: bytes, length: int) -> None:
    request = parse_request(raw)
    assert request.body_length == length
    assert request.head.endswith(b"\r\n\r\n") and request.head.count(b"\r\n\r\n") == 1
    assert request.head.split(b"\r\n")[0] == raw.split(b"\r\n")[0]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (head(b"GET /v1/functions HTTP/1.1"), 403),
        (head(b"POST /v1/state-machines HTTP/1.1"), 403),
        (head(b"GET / HTTP/1.1"), 403),
        (head(b"GET /20150331/functions HTTP/1.1"), 403),
        (head(b"GET /2015-03-31/functions HTTP/1.1", SIGNED.replace(TOKEN_PREFIX.encode(), b"sts")), 403),
        (head(b"GET /2015-03-31/functions HTTP/1.1", b"Host: h\r\nAuthorization: Bearer t\r\n"), 403),
        (head(b"GET /2015-03-31/functions HTTP/1.1", b"Host: h\r\n"), 403),
        (head(b"POST / HTTP/1.1", SIGNED + b"Transfer-Encoding: chunked\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"Content-Length: 1\r\nContent-Length: 2\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"Content-Length: -1\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"Upgrade: websocket\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"X: a\nContent-Length: 5\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"X : a\r\n"), 400),
        (head(b"POST / HTTP/1.1", SIGNED + b"X: \xff\r\n"), 400),
        (head(b"POST / HTTP/1.0"), 400),
        (head(b"CONNECT / HTTP/1.1"), 400),
        (head(b"GET http://api/v1/functions HTTP/1.1"), 400),
        (head(b"POST / HTTP/1.1", SIGNED.replace(b"Host: 127.0.0.1:9002\r\n", b"")), 400),
        (head(b"GET /2015-03-31/../../v1/functions HTTP/1.1"), 400),
        (head(b"GET /2015-03-31/./functions HTTP/1.1"), 400),
    ],
    ids=[
        "v1", "v1-post", "get-root", "not-lambda", "sts-token", "bearer", "unsigned", "chunked",
        "two-lengths", "negative-length", "upgrade", "bare-lf", "space-before-colon", "not-ascii",
        "http-1.0", "connect", "absolute-target", "no-host", "dot-dot", "dot",
    ],
)  # fmt: skip
def test_other_requests_are_answered_at_the_socket(raw: bytes, status: int) -> None:
    with pytest.raises(Refused) as refused:
        parse_request(raw)
    assert refused.value.status == status
    response = refused.value.response()
    assert response.startswith(b"HTTP/1.1 %d " % status) and b"Connection: close" in response


class FakeApi:
    """A stand-in API on a loopback port: records what arrives, answers each request with 200."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in request.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.received += request + await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def forwarder() -> AsyncIterator[tuple[Path, FakeApi]]:
    api = FakeApi()
    port = await api.start()
    directory = Path(tempfile.mkdtemp(prefix="fwd-"))
    server = ApiForwarder(directory / "aws.sock", Upstream("127.0.0.1", port))
    try:
        yield directory / "aws.sock", api
    finally:
        server.close()
        assert api.server is not None
        api.server.close()
        shutil.rmtree(directory, ignore_errors=True)


async def exchange(path: Path, data: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(data)
    await writer.drain()
    got = b""
    try:
        async with asyncio.timeout(5):
            while b"\r\n\r\n" not in got or (b"200 OK" in got and not got.endswith(b"ok")):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                got += chunk
    finally:
        writer.close()
    return got


async def test_a_signed_aws_request_reaches_the_api_rewritten(forwarder: tuple[Path, FakeApi]) -> None:
    path, api = forwarder
    raw = head(b"POST / HTTP/1.1", SIGNED + b"Content-Length:   2\r\n") + b"\r\n\r\n{}"
    assert (await exchange(path, raw)).endswith(b"ok")
    assert bytes(api.received) == parse_request(raw.split(b"\r\n\r\n")[0]).head + b"{}"
    assert b"Content-Length: 2\r\n" in api.received


async def test_a_request_smuggled_in_a_body_stays_body(forwarder: tuple[Path, FakeApi]) -> None:
    """Bytes counted as the first request's body are never read as a request of their own: the
    ``GET /v1/functions`` reaches the API inside the body only, and the next head is checked."""
    path, api = forwarder
    smuggled = b"GET /v1/functions HTTP/1.1\r\nHost: x\r\n\r\n"
    first = head(b"POST / HTTP/1.1", SIGNED + b"Content-Length: %d\r\n" % len(smuggled))
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        async with asyncio.timeout(5):
            writer.write(first + b"\r\n\r\n" + smuggled)
            assert await reader.readuntil(b"ok") == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            writer.write(smuggled)
            rest = await reader.read()
    finally:
        writer.close()
    assert rest.startswith(b"HTTP/1.1 403 Forbidden")
    assert bytes(api.received) == parse_request(first).head + smuggled


async def test_an_unsigned_request_never_reaches_the_api(forwarder: tuple[Path, FakeApi]) -> None:
    path, api = forwarder
    got = await exchange(path, b"GET /v1/functions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 403 Forbidden") and b"AccessDeniedException" in got
    await asyncio.sleep(0.05)
    assert api.received == b""


async def test_an_unreachable_api_is_a_503() -> None:
    directory = Path(tempfile.mkdtemp(prefix="fwd-"))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ApiForwarder(directory / "aws.sock", Upstream("127.0.0.1", port))
    try:
        got = await exchange(directory / "aws.sock", head(b"POST / HTTP/1.1") + b"\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 503") and b"ServiceUnavailableException" in got
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)
