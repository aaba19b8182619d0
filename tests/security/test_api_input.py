"""Hostile input to the HTTP API: deep JSON, NUL characters, racing creates, unparseable proxy URLs,
oversized bodies. Each must be a 4xx naming the problem (or a 409 for the losers of a race), never a
500, and nothing accepted may break a later read."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.json_input import MAX_JSON_DEPTH
from api.request_limits import DEFAULT_BODY, FUNCTION_CODE_BODY, INVOCATION_BODY
from foundation.registry import executions as registry
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.settings import Settings
from tests.integration.function_kit import requires_bwrap
from tests.integration.helpers import create_function, wait_until_done

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
HELLO = "def handler(event, context):\n    return {'got': event}\n"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API with the real function runtime; a 500 comes back as a response, not an exception."""
    from api.app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="stepline-test-"))
    os.chmod(data_dir, 0o711)  # the sandbox users reach the code store through it
    app = create_app(settings.model_copy(update={"data_dir": data_dir}))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://stepline.test", timeout=300
            ) as c:
                yield c
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def unique(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def nested(levels: int) -> Any:
    """``levels`` arrays around 1 (``nested(2) == [[1]]``)."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def deep_text(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


async def machine(
    client: httpx.AsyncClient, definition: dict[str, Any] = PASS, type_: str = "EXPRESS"
) -> str:
    name = unique("m")
    response = await client.post(
        "/v1/state-machines", json={"name": name, "definition": definition, "type": type_}
    )
    assert response.status_code == 201, response.text
    return name


def assert_refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in response.json()["detail"], response.text


# deep JSON ------------------------------------------------------------------------------------------


def deep_requests(name: str) -> list[tuple[str, str, bytes]]:
    """Every way JSON nested one level over the limit enters (method, path, body)."""
    too_deep = nested(MAX_JSON_DEPTH)  # inside a body's object: one level more
    deep_definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": too_deep, "End": True}}}
    return [
        ("POST", f"/v1/state-machines/{name}/executions", json.dumps({"input": too_deep}).encode()),
        ("POST", f"/v1/state-machines/{name}/sync-executions", json.dumps({"input": too_deep}).encode()),
        (
            "POST",
            f"/v1/state-machines/{name}/executions",
            json.dumps({"inputText": deep_text(MAX_JSON_DEPTH + 1)}).encode(),
        ),
        ("POST", f"/v1/state-machines/{name}/sync-executions", deep_text(5000).encode()),
        (
            "POST",
            "/v1/state-machines",
            json.dumps({"name": unique(), "definition": deep_definition}).encode(),
        ),
        (
            "POST",
            "/v1/state-machines",
            json.dumps({"name": unique(), "definition": json.dumps(deep_definition)}).encode(),
        ),
        ("PUT", f"/v1/state-machines/{name}", json.dumps({"definition": deep_definition}).encode()),
        ("POST", "/v1/state-machines/validate", json.dumps({"definition": deep_definition}).encode()),
        ("POST", "/v1/functions/anything/invocations", deep_text(MAX_JSON_DEPTH + 1).encode()),
        (
            "POST",
            "/v1/db-proxies",
            json.dumps({"name": "p", "targetUrl": "postgresql://h/d", "x": too_deep}).encode(),
        ),
    ]


async def test_json_nested_past_the_limit_is_refused_where_it_enters(client: httpx.AsyncClient) -> None:
    name = await machine(client)
    for method, path, body in deep_requests(name):
        response = await client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        assert_refused(response, 400, f"more than {MAX_JSON_DEPTH} levels deep")
    listed = (await client.get("/v1/executions", params={"stateMachine": name})).json()["executions"]
    assert listed == []  # nothing was started


async def test_json_at_the_limit_is_taken_and_reads_back(client: httpx.AsyncClient) -> None:
    name = await machine(client)
    kept = await machine(client, type_="STANDARD")  # (an asynchronous Express execution is not kept)
    value = nested(MAX_JSON_DEPTH - 1)  # the body's object makes it MAX_JSON_DEPTH
    started = await client.post(f"/v1/state-machines/{kept}/executions", json={"input": value})
    assert started.status_code == 201, started.text
    described = await client.get(f"/v1/executions/{started.json()['executionId']}")
    assert described.status_code == 200 and described.json()["input"] == value
    as_text = await client.post(
        f"/v1/state-machines/{name}/sync-executions", json={"inputText": deep_text(MAX_JSON_DEPTH)}
    )
    assert as_text.status_code == 200 and as_text.json()["output"] == nested(MAX_JSON_DEPTH)


async def test_deep_values_stored_earlier_still_read_back(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Rows written before the limit existed (or made deep by a workflow) are served as stored,
    deeper than pydantic-core (255) and Python's json (about 1,000) could carry."""
    name = await machine(client)
    deep_input, deep_output = deep_text(300), '{"a":' + deep_text(3000) + ',"b":NaN,"c":"NaN in a string"}'
    engine = create_engine(settings.database.url.get_secret_value(), 1)
    try:
        async with unit_of_work(session_maker(engine)) as session:
            execution_id = registry.execution_id(name, "old")
            await registry.insert_execution(
                session,
                registry.Execution(
                    id=execution_id, name="old", state_machine_name=name, state_machine_version=1,
                    status="RUNNING", input=deep_input, start_date=datetime.now(UTC),
                ),
            )  # fmt: skip
            await registry.finish_execution(
                session, execution_id, "SUCCEEDED", deep_output, None, None, datetime.now(UTC)
            )
    finally:
        await engine.dispose()
    response = await client.get(f"/v1/executions/{execution_id}")
    assert response.status_code == 200, response.text
    assert f'"input":{deep_input}' in response.text
    assert '"output":{"a":' + deep_text(3000) + ',"b":null,"c":"NaN in a string"}' in response.text


LOOP = {
    "StartAt": "Wrap",
    "States": {
        "Wrap": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.n, 1)", "v": {"w.$": "$.v"}},
            "Next": "Again",
        },
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericLessThan": 300, "Next": "Wrap"}],
            "Default": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}
"""Each turn nests the output one level deeper: 301 levels after 300 turns, from a shallow input."""


async def test_sync_output_too_deep_to_serve_fails_the_execution_with_the_reason(
    client: httpx.AsyncClient,
) -> None:
    name = await machine(client, LOOP)
    response = await client.post(
        f"/v1/state-machines/{name}/sync-executions", json={"input": {"n": 0, "v": 1}}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "FAILED" and result["error"] == "States.Runtime"
    assert "levels deep" in result["cause"]


@pytest.mark.usefixtures("worker")
async def test_deep_output_of_a_durable_execution_reads_back(client: httpx.AsyncClient) -> None:
    name = await machine(client, LOOP, type_="STANDARD")
    started = await client.post(f"/v1/state-machines/{name}/executions", json={"input": {"n": 0, "v": 1}})
    assert started.status_code == 201, started.text
    done = await wait_until_done(client, started.json()["executionId"], seconds=120)
    assert done["status"] == "SUCCEEDED", done
    value, depth = done["output"]["v"], 1
    while isinstance(value, dict):
        value, depth = value["w"], depth + 1
    assert depth == 301 and value == 1


# NUL ------------------------------------------------------------------------------------------------


NUL_URLS = [
    ("GET", "/v1/state-machines/a%00b"),
    ("PUT", "/v1/state-machines/a%00b"),
    ("DELETE", "/v1/state-machines/a%00b"),
    ("GET", "/v1/state-machines/a?version=1%00"),
    ("POST", "/v1/state-machines/a%00b/executions"),
    ("POST", "/v1/state-machines/a%00b/sync-executions"),
    ("GET", "/v1/executions/a%00b"),
    ("GET", "/v1/executions/a%00b/history"),
    ("POST", "/v1/executions/a%00b/stop"),
    ("GET", "/v1/executions?stateMachine=a%00b"),
    ("GET", "/v1/executions?nextToken=%00"),
    ("GET", "/v1/functions/a%00b"),
    ("GET", "/v1/functions/a?qualifier=%00"),
    ("PUT", "/v1/functions/a%00b"),
    ("DELETE", "/v1/functions/a%00b"),
    ("POST", "/v1/functions/a%00b/invocations"),
    ("POST", "/v1/functions/a/invocations?qualifier=1%00"),
    ("POST", "/v1/functions/a%00b/versions"),
    ("GET", "/v1/functions/a%00b/versions"),
    ("PUT", "/v1/functions/a%00b/concurrency"),
    ("GET", "/v1/functions/a%00b/logs"),
    ("GET", "/v1/functions/a/logs?requestId=%00"),
    ("GET", "/v1/db-proxies/a%00b"),
    ("PUT", "/v1/db-proxies/a%00b"),
    ("DELETE", "/v1/db-proxies/a%00b"),
    ("GET", "/v1/file-systems/a%00b"),
    ("DELETE", "/v1/file-systems/a%00b"),
    ("GET", "/v1/file-systems/a%00b/access-points"),
    ("POST", "/v1/file-systems/a%00b/access-points"),
    ("GET", "/v1/file-systems/a/access-points/a%00b"),
    ("DELETE", "/v1/file-systems/a/access-points/a%00b"),
]


async def test_nul_in_a_path_parameter_or_query_value_is_400(client: httpx.AsyncClient) -> None:
    for method, url in NUL_URLS:
        response = await client.request(method, url, json={})
        assert_refused(response, 400, "NUL")


def nul_bodies(name: str, fn: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A NUL character in every kind of string the API stores."""
    commented = {**PASS, "Comment": "a\u0000b"}
    return [
        ("POST", "/v1/state-machines", {"name": unique(), "definition": PASS, "description": "a\u0000"}),
        ("POST", "/v1/state-machines", {"name": unique(), "definition": commented}),
        ("POST", "/v1/state-machines", {"name": unique(), "definition": json.dumps(commented)}),
        ("PUT", f"/v1/state-machines/{name}", {"definition": PASS, "description": "\u0000"}),
        ("POST", f"/v1/state-machines/{name}/executions", {"input": {"a": "x\u0000y"}}),
        ("POST", f"/v1/state-machines/{name}/executions", {"input": {"k\u0000": 1}}),
        ("POST", f"/v1/state-machines/{name}/executions", {"inputText": '{"a": "\\u0000"}'}),
        ("POST", f"/v1/state-machines/{name}/sync-executions", {"input": "\u0000"}),
        ("POST", f"/v1/executions/{name}:x/stop", {"error": "e", "cause": "\u0000"}),
        (
            "POST",
            "/v1/functions",
            {
                "name": unique(),
                "runtime": "python3.11",
                "handler": "app.h\u0000andler",
                "code": {"files": {"app.py": HELLO}},
            },
        ),
        ("PUT", f"/v1/functions/{fn}", {"description": "\u0000"}),
        ("PUT", f"/v1/functions/{fn}", {"environment": {"A": "\u0000"}}),
        ("PUT", f"/v1/functions/{fn}", {"fileSystemConfigs": [{"fileSystem": "\u0000"}]}),
        ("POST", f"/v1/functions/{fn}/versions", {"description": "\u0000"}),
        ("POST", "/v1/db-proxies", {"name": unique("p"), "targetUrl": "postgresql://u\u0000@localhost/db"}),
        ("POST", "/v1/file-systems", {"name": unique("fs"), "hostPath": "/tmp/\u0000"}),
        (
            "POST",
            "/v1/file-systems/x/access-points",
            {"name": "ap", "rootDirectory": "/a\u0000", "posixUser": {"uid": 1000, "gid": 1000}},
        ),
    ]


async def test_nul_in_a_stored_string_is_400(client: httpx.AsyncClient) -> None:
    name, fn = await machine(client), await create_function(client, HELLO, "f")
    for method, path, body in nul_bodies(name, fn):
        response = await client.request(method, path, json=body)
        assert_refused(response, 400, "NUL")
    described = (await client.get(f"/v1/state-machines/{name}")).json()
    assert described["version"] == 1 and described["description"] is None  # the PUT changed nothing


async def test_an_escaped_backslash_before_u0000_is_plain_text(client: httpx.AsyncClient) -> None:
    name = unique()
    created = await client.post(
        "/v1/state-machines", json={"name": name, "definition": PASS, "description": "\\u0000"}
    )
    assert created.status_code == 201, created.text
    assert (await client.get(f"/v1/state-machines/{name}")).json()["description"] == "\\u0000"


async def test_nul_bytes_in_an_invocation_payload_are_400(client: httpx.AsyncClient) -> None:
    fn = await create_function(client, HELLO, "f")
    for kind in ("RequestResponse", "Event"):
        response = await client.post(
            f"/v1/functions/{fn}/invocations", content=b'{"a": "\x00"}', headers={"x-invocation-type": kind}
        )
        assert_refused(response, 400, "NUL")


# races ----------------------------------------------------------------------------------------------


async def create_in_parallel(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], times: int = 20
) -> list[int]:
    responses = await asyncio.gather(*(client.post(path, json=body) for _ in range(times)))
    for response in responses:
        if response.status_code == 409:
            assert "already exists" in response.json()["detail"], response.text
    return sorted(r.status_code for r in responses)


async def test_parallel_creates_of_one_name_are_one_201_and_the_rest_409(client: httpx.AsyncClient) -> None:
    expected = [201] + [409] * 19
    name = unique()
    assert (
        await create_in_parallel(client, "/v1/state-machines", {"name": name, "definition": PASS}) == expected
    )
    fn = {
        "name": unique("f"),
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"files": {"app.py": HELLO}},
    }
    assert await create_in_parallel(client, "/v1/functions", fn) == expected
    proxy = {"name": unique("p"), "targetUrl": "postgresql://u:pw@127.0.0.1/db"}
    assert await create_in_parallel(client, "/v1/db-proxies", proxy) == expected
    fs = unique("fs")
    assert await create_in_parallel(client, "/v1/file-systems", {"name": fs}) == expected
    point = {"name": "ap", "rootDirectory": "/ap", "posixUser": {"uid": 1000, "gid": 1000}}
    assert await create_in_parallel(client, f"/v1/file-systems/{fs}/access-points", point) == expected


async def test_parallel_versions_are_numbered_one_by_one(client: httpx.AsyncClient) -> None:
    fn, name = await create_function(client, HELLO, "f"), await machine(client)
    published = await asyncio.gather(*(client.post(f"/v1/functions/{fn}/versions") for _ in range(10)))
    assert sorted(int(r.json()["version"]) for r in published) == list(range(1, 11))
    updated = await asyncio.gather(
        *(client.put(f"/v1/state-machines/{name}", json={"definition": PASS}) for _ in range(10))
    )
    assert sorted(r.json()["version"] for r in updated) == list(range(2, 12))


# db proxy target URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2secret@[::1/db",
        "postgresql://u:hunter2secret/x@host/db",
        "postgresql://u:p@h:99999/db",
    ],
    ids=["unclosed-ipv6", "slash-in-password", "port-out-of-range"],
)
async def test_unparseable_target_url_is_400_without_the_password(
    client: httpx.AsyncClient, url: str
) -> None:
    created = await client.post("/v1/db-proxies", json={"name": unique("p"), "targetUrl": url})
    assert_refused(created, 400, "targetUrl")
    assert "hunter2secret" not in created.text
    good = await client.post("/v1/db-proxies", json={"name": unique("p"), "targetUrl": "postgresql://u@h/db"})
    updated = await client.put(f"/v1/db-proxies/{good.json()['name']}", json={"targetUrl": url})
    assert_refused(updated, 400, "targetUrl")
    assert "hunter2secret" not in updated.text


# body caps ------------------------------------------------------------------------------------------


class Body:
    """A request body streamed in chunks (each a new object, as a network read makes them), counting
    what the server pulled; ``growth`` is the peak of this process's resident memory since the body
    was made (the kernel's high-water mark, reset here) over what it was then."""

    def __init__(self, total: int, chunk: int = 1024 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current resident size
        self.rss_before = _status_kib("VmRSS")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            size = min(self.chunk, self.total - self.sent)
            self.sent += size
            yield b"[" * size

    @property
    def growth(self) -> int:
        return (_status_kib("VmHWM") - self.rss_before) * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


CAPS = [
    ("POST", "/v1/functions", FUNCTION_CODE_BODY),
    ("PUT", "/v1/functions/f", FUNCTION_CODE_BODY),
    ("POST", "/v1/functions/f/invocations", INVOCATION_BODY),
    ("POST", "/v1/state-machines", DEFAULT_BODY),
    ("POST", "/v1/state-machines/m/executions", DEFAULT_BODY),
    ("POST", "/v1/db-proxies", DEFAULT_BODY),
]


@pytest.mark.parametrize(("method", "path", "cap"), CAPS, ids=[f"{m} {p}" for m, p, _ in CAPS])
async def test_a_declared_length_over_the_cap_is_413_before_the_body_is_read(
    client: httpx.AsyncClient, method: str, path: str, cap: int
) -> None:
    body = Body(cap + 1)
    headers = {"content-length": str(cap + 1), "content-type": "application/json"}
    response = await client.request(method, path, content=body, headers=headers)
    assert_refused(response, 413, f"{cap}-byte limit")
    assert body.sent == 0


@pytest.mark.parametrize(("method", "path", "cap"), CAPS, ids=[f"{m} {p}" for m, p, _ in CAPS])
async def test_a_streamed_body_is_cut_off_at_the_cap(
    client: httpx.AsyncClient, method: str, path: str, cap: int
) -> None:
    body = Body(cap + 10 * 1024 * 1024)  # chunked: no Content-Length
    response = await client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert_refused(response, 413, f"{cap}-byte limit")
    assert body.sent <= cap + body.chunk


async def test_a_400_mb_body_is_refused_without_the_process_growing(client: httpx.AsyncClient) -> None:
    body = Body(400 * 1024 * 1024)
    response = await client.post("/v1/functions", content=body, headers={"content-type": "application/json"})
    assert_refused(response, 413, f"{FUNCTION_CODE_BODY}-byte limit")
    assert body.sent <= FUNCTION_CODE_BODY + body.chunk
    assert body.growth < 200 * 1024 * 1024, f"grew by {body.growth / 2**20:.0f} MiB"


@requires_bwrap
async def test_bodies_within_their_caps_are_taken(client: httpx.AsyncClient) -> None:
    fn = await create_function(client, HELLO, "f")
    payload = {"blob": "x" * (5 * 1024 * 1024)}
    invoked = await client.post(f"/v1/functions/{fn}/invocations", json=payload)
    assert invoked.status_code == 200 and invoked.json() == {"got": payload}
    name = await machine(client)
    quoted = json.dumps({"q": '"' * 120_000})  # 240 KiB of input, about 480 KiB once escaped in the body
    started = await client.post(f"/v1/state-machines/{name}/executions", json={"inputText": quoted})
    assert started.status_code == 201, started.text


# the rest of a hostile sweep -------------------------------------------------------------------------


async def test_names_longer_than_any_stored_one_are_400_or_404(client: httpx.AsyncClient) -> None:
    """An execution id is at most 200 characters: a longer one is refused, not a 500 from PostgreSQL."""
    for long in ("a" * 5000, "\U0001f4a5" * 100):
        started = await client.post(f"/v1/state-machines/{long}/executions", json={})
        assert started.status_code in (400, 404), started.text
        assert (await client.get(f"/v1/state-machines/{long}")).status_code == 404


async def test_a_lone_surrogate_anywhere_in_a_body_is_400(client: httpx.AsyncClient) -> None:
    """Python's JSON parser takes "\\ud800"; no response (and no PostgreSQL text) can carry it."""
    headers = {"content-type": "application/json"}
    for path, body in [
        ("/v1/state-machines/validate", b'{"definition": "\\ud800"}'),
        ("/v1/state-machines", b'{"name": "x", "definition": {"StartAt": "\\udc00", "States": {}}}'),
        ("/v1/db-proxies", b'{"name": "p", "targetUrl": "postgresql://\\ud800@h/d"}'),
    ]:
        response = await client.post(path, content=body, headers=headers)
        assert_refused(response, 400, "lone surrogate")


HOSTILE_NAMES = [
    "%20",
    "a" * 300,
    "%E2%80%AE%E2%80%8B",
    "..%2F..%2Fetc",
    "%24LATEST",
    "a%3Ab",
    "%01%7F",
    "%ED%A0%80",
]
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    10**30,
    1.5e308,
    "",
    "a" * 20_000,
    [],
    {},
    [{}],
    "\U0001f4a5",
    2**63,
]
HOSTILE_QUERIES = ["", "-1", "99999999999999999999999", "1e400", "NaN", "a" * 5000, "\u202e", "%", "{}"]
FIELDS = [
    "name", "definition", "type", "description", "input", "inputText", "error", "cause", "runtime", "handler",
    "code", "memorySize", "timeout", "environment", "ephemeralStorage", "network", "fileSystemConfigs",
    "dbProxies", "reserved", "provisioned", "targetUrl", "poolSize", "borrowTimeout", "idleTimeout",
    "hostPath", "rootDirectory", "posixUser", "permissions",
]  # fmt: skip


def v1_routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute

    app = client._transport.app  # type: ignore[attr-defined]
    routes = [
        r for top in app.routes for r in getattr(getattr(top, "original_router", None), "routes", [top])
    ]
    return sorted(
        (method, r.path)
        for r in routes
        if isinstance(r, APIRoute) and r.path.startswith("/v1/")
        for method in r.methods or ()
    )


@pytest.mark.slow
async def test_hostile_values_on_every_v1_route_are_never_a_5xx(client: httpx.AsyncClient) -> None:
    """Odd names in every path parameter, odd values in every query parameter and in the body fields
    of every /v1 route: 4xx or success, never a 500 (503 is a service Temporal did not answer).

    Each body field of a route gets a third of the odd values, a different third on the next route,
    so every (field, value) pair still reaches many routes; requests go eight at a time."""
    fn, machine_name = await create_function(client, HELLO, "f"), await machine(client)
    failures: list[str] = []
    requests: list[tuple[str, str, dict[str, Any]]] = []
    in_flight = asyncio.Semaphore(8)

    async def send(method: str, url: str, kwargs: dict[str, Any]) -> None:
        async with in_flight:
            response = await client.request(method, url, **kwargs)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{method} {url[:120]} {str(kwargs)[:200]} -> {response.status_code}")

    routes = v1_routes(client)
    assert len(routes) > 30
    for number, (method, path) in enumerate(routes):
        for odd in HOSTILE_NAMES:
            url = path.replace("{name}", odd).replace("{execution_id}", odd).replace("{access_point}", odd)
            requests.append((method, url, {"json": {}}))
        known = path.replace("{execution_id}", f"{machine_name}:none").replace("{access_point}", "ap")
        known = known.replace("{name}", fn if path.startswith("/v1/functions") else machine_name)
        # Server-Sent Events never end through the in-process transport (tests/integration/console_api
        # sends them odd parameters over real HTTP).
        if method == "GET" and not path.endswith(("/events", "/logs/stream")):
            for key in (
                "limit",
                "nextToken",
                "stateMachine",
                "status",
                "version",
                "qualifier",
                "since",
                "requestId",
            ):
                for odd in HOSTILE_QUERIES:
                    requests.append((method, known, {"params": {key: odd}}))
        if method in ("POST", "PUT") and not known.endswith("/invocations"):
            for field_number, field in enumerate(FIELDS):
                for value_number, value in enumerate(HOSTILE_VALUES):
                    if (number + field_number + value_number) % 3 == 0:
                        requests.append((method, known, {"json": {field: value}}))
    await asyncio.gather(*(send(method, url, kwargs) for method, url, kwargs in requests))
    assert failures == []


FAIL_WITH_DECODED_CAUSE = {
    "StartAt": "Decode",
    "States": {
        "Decode": {"Type": "Pass", "Parameters": {"cause.$": "States.StringToJson($.s)"}, "Next": "Fail"},
        "Fail": {"Type": "Fail", "Error": "Decoded", "CausePath": "$.cause"},
    },
}


@pytest.mark.usefixtures("worker")
async def test_nul_made_by_a_workflow_is_stored_as_a_replacement_character(client: httpx.AsyncClient) -> None:
    """The input holds the text \\u0000 (allowed); the workflow decodes it into an error's cause."""
    name = await machine(client, FAIL_WITH_DECODED_CAUSE, type_="STANDARD")
    started = await client.post(f"/v1/state-machines/{name}/executions", json={"input": {"s": '"a\\u0000b"'}})
    assert started.status_code == 201, started.text
    done = await wait_until_done(client, started.json()["executionId"], seconds=60)
    assert (done["status"], done["error"], done["cause"]) == ("FAILED", "Decoded", "a\ufffdb")


@requires_bwrap
async def test_a_function_printing_nul_keeps_its_log(client: httpx.AsyncClient) -> None:
    name = unique("f")
    code = "def handler(event, context):\n    print('a\\x00b')\n    return 1\n"
    body = {
        "name": name,
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"files": {"app.py": code}},
    }
    assert (await client.post("/v1/functions", json=body)).status_code == 201
    invoked = await client.post(f"/v1/functions/{name}/invocations", json={})
    assert invoked.status_code == 200, invoked.text
    logs = await client.get(
        f"/v1/functions/{name}/logs", params={"requestId": invoked.headers["x-amzn-requestid"]}
    )
    assert logs.status_code == 200, logs.text
    messages = [event["message"] for event in logs.json()["events"]]
    assert messages[0].startswith("START") and "a\ufffdb" in messages and messages[-1].startswith("REPORT")
