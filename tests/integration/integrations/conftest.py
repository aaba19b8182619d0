"""Service integrations against real servers on loopback: a moto server standing in for AWS (DynamoDB,
SQS, SNS, S3, EventBridge), a small HTTP server for HTTP Tasks, and a worker whose activities call
services through ``workers.integrations``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from temporalio.client import Client

from foundation.settings import Settings

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "moto", "aws_secret_access_key": "moto"}


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server in server mode on a loopback port of its own."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws(moto_url: str, service: str) -> Any:
    """A boto3 client of the moto server, to prepare resources and check what a machine did."""
    return boto3.client(service, endpoint_url=moto_url, **CREDENTIALS)


@pytest.fixture
async def integrations_worker(settings: Settings, temporal_client: Client) -> AsyncIterator[None]:
    """A worker on the test's task queue whose Tasks call services (no function runtime)."""
    from foundation.registry.database import create_engine, session_maker
    from workers.activities import Activities
    from workers.integrations import for_settings
    from workers.worker import build_worker

    engine = create_engine(settings.database.url.get_secret_value(), pool_size=5)
    sessions = session_maker(engine)
    activities = Activities(sessions, None, for_settings(settings, sessions).call)
    try:
        async with build_worker(temporal_client, settings.temporal.task_queue, activities):
            yield
    finally:
        await engine.dispose()


@dataclass
class Seen:
    """One request the test HTTP server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class HttpServer:
    url: str
    seen: list[Seen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
        document: dict[str, object]
        if self.path.startswith("/token"):
            self.server.tokens += 1
            status, document = (
                200,
                {"access_token": f"token-from-oauth-{self.server.tokens}", "expires_in": 3600},
            )
            if self.headers.get("Authorization") != "Basic Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ=":
                status, document = 401, {"error": "invalid_client"}
        elif self.path.startswith("/only-fresh"):
            fresh = self.headers.get("Authorization") == "Bearer token-from-oauth-2"
            status, document = 200, {"fresh": True}
            if not fresh:
                status, document = 401, {"message": "token revoked"}
        elif self.path.startswith("/missing"):
            status, document = 404, {"message": "no such thing"}
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.path.startswith("/slow"):
            time.sleep(float(self.path.partition("seconds=")[2] or 1))
            status, document = 200, {"slow": True}
        elif self.path.startswith("/cookie"):
            self.send_response(200)
            self.send_header("Set-Cookie", "session=tenant-a-session; Path=/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        elif self.path.startswith("/big"):
            status, document = 200, {"blob": "x" * 2_000_000}
        else:
            status, document = 200, {"ok": True, "method": self.command, "path": self.path}
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    seen: list[Seen]
    tokens: int = 0


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """An HTTP server on a loopback port: ``/token`` (OAuth client credentials ``client-id`` /
    ``client-secret``; tokens ``token-from-oauth-N``), ``/only-fresh`` (401 but for the second token),
    ``/missing`` (404), ``/redirect`` (302 to the cloud metadata address),
    ``/big`` (2 MB of JSON), ``/slow?seconds=N`` (answers after N seconds), ``/cookie`` (sets one),
    anything else (200, JSON); every request kept."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpServer(f"http://127.0.0.1:{server.server_address[1]}", server.seen)
    finally:
        server.shutdown()
        server.server_close()
