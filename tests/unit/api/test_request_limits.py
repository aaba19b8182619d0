"""api.request_limits: NUL in URLs and bodies over their cap, refused before the application reads on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from api.request_limits import DEFAULT_BODY, FUNCTION_CODE_BODY, INVOCATION_BODY, RequestLimits, body_cap


@pytest.mark.parametrize(
    ("method", "path", "cap"),
    [
        ("POST", "/v1/functions", FUNCTION_CODE_BODY),
        ("PUT", "/v1/functions/f", FUNCTION_CODE_BODY),
        ("PUT", "/v1/functions/f/concurrency", DEFAULT_BODY),
        ("POST", "/v1/functions/f/invocations", INVOCATION_BODY),
        ("POST", "/v1/functions/f/versions", DEFAULT_BODY),
        ("POST", "/2015-03-31/functions", FUNCTION_CODE_BODY),
        ("PUT", "/2015-03-31/functions/f/code", FUNCTION_CODE_BODY),
        ("POST", "/2015-03-31/functions/f/invocations", INVOCATION_BODY),
        ("POST", "/v1/state-machines/m/executions", DEFAULT_BODY),
        ("POST", "/", DEFAULT_BODY),
    ],
)
def test_body_cap(method: str, path: str, cap: int) -> None:
    assert body_cap(method, path) == cap


def test_caps_hold_lambdas_limits() -> None:
    assert FUNCTION_CODE_BODY > 50 * 1024 * 1024 * 4 // 3  # a 50 MiB zip as base64
    assert INVOCATION_BODY == 6 * 1024 * 1024
    assert DEFAULT_BODY == 1024 * 1024


class Echo:
    """Reads the whole body (as a route would), then answers its length."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = await Request(scope, receive).body()
        await PlainTextResponse(str(len(body)))(scope, receive, send)


async def stream(total: int, pulled: list[int]) -> AsyncIterator[bytes]:
    while sum(pulled) < total:
        pulled.append(min(65536, total - sum(pulled)))
        yield b"x" * pulled[-1]


def client(app: Echo) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=RequestLimits(app)), base_url="http://t")


async def test_within_the_cap_the_body_passes() -> None:
    async with client(Echo()) as c:
        response = await c.post("/v1/state-machines", content=b"x" * DEFAULT_BODY)
    assert response.text == str(DEFAULT_BODY)


async def test_a_declared_length_over_the_cap_never_reaches_the_application() -> None:
    app, pulled = Echo(), list[int]()
    async with client(app) as c:
        headers = {"content-length": str(DEFAULT_BODY + 1)}
        response = await c.post("/v1/db-proxies", content=stream(DEFAULT_BODY + 1, pulled), headers=headers)
    assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"
    assert (
        response.json()["detail"]
        == f"the request body is over the {DEFAULT_BODY}-byte limit of POST /v1/db-proxies"
    )
    assert app.calls == 0 and pulled == []


async def test_a_streamed_body_stops_being_read_at_the_cap() -> None:
    pulled: list[int] = []
    async with client(Echo()) as c:
        response = await c.post("/v1/state-machines", content=stream(10 * DEFAULT_BODY, pulled))
    assert response.status_code == 413
    assert DEFAULT_BODY < sum(pulled) <= DEFAULT_BODY + 65536


@pytest.mark.parametrize("url", ["/v1/functions/a%00b", "/v1/executions?stateMachine=a%00", "/v1/x?a=%00"])
async def test_nul_in_the_url_is_400(url: str) -> None:
    app = Echo()
    async with client(app) as c:
        response = await c.get(url)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert app.calls == 0


@pytest.mark.parametrize(
    ("method", "url", "type_key"),
    [
        ("GET", "/2015-03-31/functions/a%00b", "x-amzn-errortype"),
        ("POST", "/?x=%00", "__type"),
    ],
    ids=["lambda", "stepfunctions"],
)
async def test_nul_in_an_aws_url_is_refused_in_the_protocols_shape(
    method: str, url: str, type_key: str
) -> None:
    app = Echo()
    async with client(app) as c:
        response = await c.request(method, url)
    assert response.status_code == 400 and app.calls == 0
    code = response.headers.get(type_key) or response.json().get(type_key)
    assert code == "ValidationException"
    assert "NUL" in (response.json().get("message") or response.json().get("Message"))


async def test_percent_25_00_is_a_percent_sign_not_nul() -> None:
    async with client(Echo()) as c:
        assert (await c.get("/v1/executions?stateMachine=%2500")).status_code == 200
