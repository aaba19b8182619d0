"""Service integration overhead: a one-Task state machine calling DynamoDB GetItem (and an HTTP
Task), against the same call made directly, interleaved in rounds so machine load hits both alike.

    python bench/integrations.py [--rounds N]

The service is a moto server on loopback (it dominates both figures: what matters is the
difference). The machine runs on the in-memory host in real time, as a synchronous execution does:
the interpreter, the ``Integrations`` gateway (endpoint lookup, botocore in a worker thread, result
shaping) and nothing of Temporal (an activity adds its own ~1-3 ms, as for functions).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from foundation.settings import IntegrationSettings, ServiceEndpointSettings
from statemachine import LocalHost, execute, execution_context, load_program
from workers.integrations import Integrations

KEYS = {"aws_access_key_id": "moto", "aws_secret_access_key": "moto", "region_name": "us-east-1"}


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


async def _timed(run: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


async def main(rounds: int) -> None:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        host, port = moto.get_host_and_port()
        url = f"http://{host}:{port}"
        dynamodb = boto3.client("dynamodb", endpoint_url=url, **KEYS)
        dynamodb.create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="bench", Item={"id": {"S": "a"}, "v": {"S": "x" * 100}})
        endpoint = ServiceEndpointSettings(url=url, access_key_id="moto", secret_access_key=SecretStr("moto"))
        integrations = Integrations(IntegrationSettings(endpoints={"dynamodb": endpoint}), "us-east-1")
        api = f"http://127.0.0.1:{http.server_address[1]}/ok"

        def machine(resource: str, parameters: dict[str, Any]) -> Any:
            state = {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
            return load_program({"StartAt": "T", "States": {"T": state}})

        get_item = machine(
            "arn:aws:states:::dynamodb:getItem", {"TableName": "bench", "Key": {"id": {"S": "a"}}}
        )
        http_task = machine("arn:aws:states:::http:invoke", {"ApiEndpoint": api, "Method": "GET"})

        async def run(program: Any) -> None:
            host = LocalHost(services=integrations.call, virtual_time=False)
            outcome = await execute(program, {}, execution_context("bench", "e", host.now()), host)
            assert outcome.status == "SUCCEEDED", outcome

        async def direct_get() -> object:
            return await asyncio.to_thread(dynamodb.get_item, TableName="bench", Key={"id": {"S": "a"}})

        async with httpx.AsyncClient() as client:

            async def direct_http() -> object:
                return await client.get(api)

            cases: dict[str, Callable[[], Awaitable[object]]] = {
                "GetItem, botocore directly (thread)": direct_get,
                "dynamodb:getItem Task": lambda: run(get_item),
                "GET, httpx directly": direct_http,
                "http:invoke Task": lambda: run(http_task),
            }
            for case in cases.values():  # warm clients and caches
                await case()
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(rounds):
                for name, case in cases.items():
                    samples[name].append(await _timed(case))
        for name, values in samples.items():
            print(f"{name:40} {_percentiles(values)}")
    finally:
        http.shutdown()
        moto.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    asyncio.run(main(parser.parse_args().rounds))
