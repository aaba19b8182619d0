"""The Runtime API server's HTTP handling, fed bytes directly (no sockets), and its socket's life."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from workers.functions.runtime_api import MAX_CONNECTIONS, RuntimeConnection, RuntimeServer

API = "/2018-06-01/runtime"


class Recorder(asyncio.Transport):
    """A transport that keeps what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


class Handler:
    """A RuntimeHandler that records calls and accepts request id ``r1`` only."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.waiting: RuntimeConnection | None = None

    def next_invocation(self, conn: RuntimeConnection) -> None:
        self.calls.append(("next",))
        self.waiting = conn

    def invocation_response(self, request_id: str, body: bytes) -> int:
        self.calls.append(("response", request_id, body.decode()))
        return 202 if request_id == "r1" else 400

    def invocation_error(self, request_id: str, error_type: str | None, body: bytes) -> int:
        self.calls.append(("error", request_id, error_type or "", body.decode()))
        return 202

    def init_error(self, error_type: str | None, body: bytes) -> int:
        self.calls.append(("init", error_type or "", body.decode()))
        return 202

    def extension_request(
        self, conn: RuntimeConnection, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> None:
        self.calls.append(("extension", method, path, headers.get("lambda-extension-name", "")))
        conn.reply(200, b"{}", {"Lambda-Extension-Identifier": "id-1"})


def connect() -> tuple[RuntimeConnection, Handler, Recorder]:
    handler = Handler()
    conn = RuntimeConnection(handler)
    transport = Recorder()
    conn.connection_made(transport)
    return conn, handler, transport


def request(method: str, path: str, body: bytes = b"", headers: str = "") -> bytes:
    return (
        f"{method} {API}{path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def test_next_waits_until_an_event_is_sent_with_lambda_headers() -> None:
    conn, handler, transport = connect()
    conn.data_received(request("GET", "/invocation/next"))
    assert handler.calls == [("next",)] and transport.written == b""
    conn.send_event("r1", 1700000000000, "arn:aws:lambda:us-east-1:0:function:f", b'{"a":1}')
    text = transport.written.decode()
    assert text.startswith("HTTP/1.1 200 OK\r\n")
    assert "Lambda-Runtime-Aws-Request-Id: r1\r\n" in text
    assert "Lambda-Runtime-Deadline-Ms: 1700000000000\r\n" in text
    assert "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:0:function:f\r\n" in text
    assert text.endswith('Content-Length: 7\r\n\r\n{"a":1}')


def test_extensions_and_telemetry_paths_reach_the_handler_on_the_same_socket() -> None:
    conn, handler, transport = connect()
    register = "POST /2020-01-01/extension/register HTTP/1.1\r\nLambda-Extension-Name: x\r\n"
    conn.data_received(register.encode() + b"Content-Length: 0\r\n\r\n")
    conn.data_received(b"PUT /2022-07-01/telemetry HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    conn.data_received(b"GET /2020-01-02/extension/register HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert handler.calls == [
        ("extension", "POST", "/2020-01-01/extension/register", "x"),
        ("extension", "PUT", "/2022-07-01/telemetry", ""),
    ]
    text = transport.written.decode()
    assert text.count("Lambda-Extension-Identifier: id-1\r\n") == 2 and text.count("404 Not Found") == 1


@pytest.mark.parametrize("split", [1, 7, 30, 1000], ids=["bytewise", "small", "mid", "whole"])
def test_requests_split_across_reads_are_reassembled(split: int) -> None:
    conn, handler, transport = connect()
    data = request("POST", "/invocation/r1/response", b'{"ok": true}') + request("GET", "/invocation/next")
    for i in range(0, len(data), split):
        conn.data_received(data[i : i + split])
    assert handler.calls == [("response", "r1", '{"ok": true}'), ("next",)]
    assert transport.written.startswith(b"HTTP/1.1 202 Accepted\r\n")


@pytest.mark.parametrize(
    ("raw", "expected_call", "status"),
    [
        (request("POST", "/invocation/r1/error", b"{}", "Lambda-Runtime-Function-Error-Type: Oops\r\n"),
         ("error", "r1", "Oops", "{}"), b"202"),
        (request("POST", "/init/error", b"{}", "Lambda-Runtime-Function-Error-Type: Runtime.X\r\n"),
         ("init", "Runtime.X", "{}"), b"202"),
        (request("POST", "/invocation/zz/response", b"1"), ("response", "zz", "1"), b"400"),
        (request("GET", "/unknown"), None, b"404"),
    ],
    ids=["error", "init-error", "unknown-request-id", "unknown-path"],
)  # fmt: skip
def test_routes(raw: bytes, expected_call: tuple[str, ...] | None, status: bytes) -> None:
    conn, handler, transport = connect()
    conn.data_received(raw)
    assert handler.calls == ([expected_call] if expected_call else [])
    assert transport.written.split(b" ")[1] == status


def test_expect_continue_is_answered_before_the_body() -> None:
    conn, handler, transport = connect()
    head = request("POST", "/invocation/r1/response", b"12", "Expect: 100-continue\r\n")
    conn.data_received(head[:-2])
    assert transport.written == b"HTTP/1.1 100 Continue\r\n\r\n"
    conn.data_received(head[-2:])
    assert handler.calls == [("response", "r1", "12")]


def test_chunked_bodies_are_refused_and_the_connection_closed() -> None:
    conn, _, transport = connect()
    conn.data_received(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert b" 413 " in transport.written and transport.closed


def open_sockets_named(path: str) -> list[str]:
    """This process's descriptors of sockets bound to ``path`` (the listening one and accepted ones)."""
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7] == path:
            inodes.add(f"socket:[{fields[6]}]")
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") in inodes:
                found.append(fd)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("steps", range(6), ids=lambda n: f"{n}-steps")
async def test_a_server_closed_as_its_sandbox_connects_leaves_no_socket_open(steps: int) -> None:
    """asyncio's own Unix server drops a connection accepted in the loop iteration before its close."""
    directory = tempfile.mkdtemp(prefix="stepline-rt-")  # short: socket paths are limited to 108 bytes
    path = f"{directory}/runtime.sock"
    made: list[RuntimeConnection] = []

    def accept() -> RuntimeConnection:
        made.append(RuntimeConnection(Handler()))
        return made[-1]

    server = RuntimeServer(path, accept)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        for _ in range(steps):
            await asyncio.sleep(0)
        server.close()
        for conn in made:
            conn.close()
        for _ in range(3):  # a transport closes its socket in a callback of its own
            await asyncio.sleep(0)
        assert open_sockets_named(path) == []
    finally:
        client.close()
        shutil.rmtree(directory)


async def test_connections_over_the_cap_wait_until_one_closes() -> None:
    """A sandbox opening connections in a loop gets ``MAX_CONNECTIONS`` accepted; the rest wait in the
    listen backlog (or fail to connect, inside the sandbox) until one of those closes."""
    directory = tempfile.mkdtemp(prefix="stepline-rt-")
    path = f"{directory}/runtime.sock"
    made: list[RuntimeConnection] = []

    def accept() -> RuntimeConnection:
        made.append(RuntimeConnection(Handler()))
        return made[-1]

    server = RuntimeServer(path, accept)
    clients: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS + 4):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            client.connect(path)  # queued in the backlog (16) when not accepted
            clients.append(client)
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert len(made) == MAX_CONNECTIONS == server.open_connections
        clients.pop(0).close()
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(made) > MAX_CONNECTIONS:
                break
        assert len(made) == MAX_CONNECTIONS + 1 and server.open_connections == MAX_CONNECTIONS
    finally:
        server.close()
        for conn in made:
            conn.close()
        for client in clients:
            client.close()
        await asyncio.sleep(0.01)
        shutil.rmtree(directory)
