"""Function URLs: a warm function through its URL against ``POST /v1/.../invocations`` of the same
function and against the HTTP floor, interleaved in one run.

    python bench/function_urls.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database on the local PostgreSQL, ``stepline dev``
against both (``bench/aws_api.py``'s helpers) and the floor: a minimal ASGI app under uvicorn in a
process of its own, answering any request with its body. One Python function returning
``{"ok": true}`` gets a URL (``AuthType`` NONE); then, round-robin so that machine load hits all rows
alike, with one keep-alive httpx client each, p50 and p95 in ms of:

- ``url_get``: ``GET /lambda-url/{id}/items?limit=2`` (the function gets the payload-2.0 URL event;
  its answer becomes a 200 JSON response);
- ``url_post_1kb``: ``POST /lambda-url/{id}/items`` with 1 KB of JSON;
- ``v1_invoke_1kb``: ``POST /v1/functions/{name}/invocations`` with the same 1 KB (the peer);
- ``floor_get`` and ``floor_post_1kb``: the same requests to the floor.

``url_over_v1_ms`` is ``url_post_1kb`` p50 less ``v1_invoke_1kb`` p50 (what the URL's event and
response mapping add); ``url_get_over_floor_ms`` is ``url_get`` p50 less ``floor_get`` p50.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import finish, interleaved_percentiles, rounds_arguments
from aws_api import ROLE, Bench, database, echo_server, stepline_dev

from shell.embedded import temporal_dev_server

CODE = 'def handler(event, context):\n    return {"ok": True}\n'
BODY = json.dumps({"data": "x" * 1000}).encode()


async def measure(api: str, floor: str, rounds: int) -> dict[str, Any]:
    bench = Bench(api)
    name = f"url-{uuid.uuid4().hex[:6]}"
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", CODE)
    bench.lam.create_function(
        FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": package.getvalue()},
    )  # fmt: skip
    url = bench.v1("POST", f"/v1/functions/{name}/url", json={"authType": "NONE"})["functionUrl"]
    path = httpx.URL(url).path.rstrip("/")
    async with (
        httpx.AsyncClient(base_url=api, timeout=60) as url_client,
        httpx.AsyncClient(base_url=api, timeout=60) as v1_client,
        httpx.AsyncClient(base_url=floor, timeout=60) as floor_client,
    ):

        async def url_get() -> None:
            answer = await url_client.get(f"{path}/items", params={"limit": 2})
            assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text

        async def url_post_1kb() -> None:
            answer = await url_client.post(
                f"{path}/items", content=BODY, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text

        async def v1_invoke_1kb() -> None:
            answer = await v1_client.post(f"/v1/functions/{name}/invocations", content=BODY)
            assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text

        async def floor_get() -> None:
            answer = await floor_client.get("/items", params={"limit": 2})
            assert answer.status_code == 200

        async def floor_post_1kb() -> None:
            answer = await floor_client.post("/items", content=BODY)
            assert answer.content == BODY

        ways: dict[str, Callable[[], Awaitable[None]]] = {
            "url_get": url_get, "url_post_1kb": url_post_1kb, "v1_invoke_1kb": v1_invoke_1kb,
            "floor_get": floor_get, "floor_post_1kb": floor_post_1kb,
        }  # fmt: skip
        rows = await interleaved_percentiles(rounds, ways, warmup=20)
    return {
        "rounds": rounds,
        "latency_ms": rows,
        "url_over_v1_ms": round(rows["url_post_1kb"]["p50"] - rows["v1_invoke_1kb"]["p50"], 3),
        "url_get_over_floor_ms": round(rows["url_get"]["p50"] - rows["floor_get"]["p50"], 3),
    }


def report(results: dict[str, Any]) -> None:
    print(f"{results['rounds']} rounds")
    print(f"{'row':16} {'p50 ms':>9} {'p95 ms':>9}")
    for name, figures in results["latency_ms"].items():
        print(f"{name:16} {figures['p50']:9.3f} {figures['p95']:9.3f}")
    print(f"url_post_1kb - v1_invoke_1kb p50: {results['url_over_v1_ms']:.3f} ms;"
          f" url_get - floor_get p50: {results['url_get_over_floor_ms']:.3f} ms")  # fmt: skip


def main() -> int:
    args, rounds = rounds_arguments(__doc__, 300, quick=40)
    with (
        temporal_dev_server() as temporal,
        database() as url,
        stepline_dev(url, temporal) as api,
        echo_server() as floor,
    ):
        results = asyncio.run(measure(api, floor, rounds))
    return finish(results, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
