"""The AWS endpoints against ``/v1``: the same operations, the same server, interleaved in one run.

    python bench/aws_api.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database on the local PostgreSQL
(``STEPLINE_BENCH_ADMIN_URL``) and ``stepline dev`` against both (the API with its worker, one
process, as users run it), then times each operation three ways, round-robin so that machine load
hits all alike:

- ``boto3``: unmodified boto3 against the Step Functions endpoint (what a user's code pays,
  botocore's request building, signing and response parsing included);
- ``aws-raw``: the same awsJson1_0 request through httpx, unsigned (the server's side of the AWS
  path alone);
- ``v1``: httpx against the equivalent ``/v1`` route.

Operations: StartExecution (a one-Pass machine), DescribeExecution (a finished execution),
GetExecutionHistory of 1,000 events (one page: a 499-state Pass chain), and Lambda's Invoke of a warm
Python function with a 1 KB payload (``aws-raw``: the restJson1 request through httpx). Invoke also
runs against its floors, in the same rounds: ``boto3-floor`` and ``httpx-floor`` are the same
clients against a minimal echo server on the same stack (uvicorn, another process), so what is left
above them is Stepline's. p50 and p95 in ms; the goal is the AWS path within 1.2x of ``/v1``, and a
warm boto3 Invoke p50 under 3 ms.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import boto3
import httpx
from _common import finish, rounds_arguments
from botocore.config import Config

from shell.embedded import free_port, temporal_dev_server, wait_for_port

ADMIN_URL = os.environ.get("STEPLINE_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROLE = "arn:aws:iam::000000000000:role/bench"
JSON10 = {"content-type": "application/x-amz-json-1.0"}
ONE_PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def pass_chain(length: int) -> dict[str, Any]:
    """``length`` Pass states in a row: 2 events each, plus ExecutionStarted and ExecutionSucceeded."""
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length)}
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


@contextmanager
def database() -> Iterator[str]:
    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        admin = await asyncpg.connect(ADMIN_URL)
        try:
            await admin.execute(sql)
        finally:
            await admin.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def stepline_dev(database_url: str, temporal: str) -> Iterator[str]:
    """``stepline dev`` against ``database_url`` and ``temporal`` on a free port; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stepline-bench-") as data_dir:
        os.chmod(data_dir, 0o711)
        env = {
            **os.environ,
            "STEPLINE_DATABASE_URL": database_url,
            "STEPLINE_TEMPORAL_ADDRESS": temporal,
            "STEPLINE_API__PORT": str(port),
            "STEPLINE_DATA_DIR": data_dir,
            "STEPLINE_SANDBOX__SPARE_ENVIRONMENTS": "0",
        }
        process = subprocess.Popen(
            [sys.executable, "-c", "from shell.cli import app; app()", "dev"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, 120, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(60)


ECHO_SERVER = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(b"content-type", b"application/json"), (b"x-amz-executed-version", b"$LATEST")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@contextmanager
def echo_server() -> Iterator[str]:
    """The floor: a minimal ASGI app echoing the body, under uvicorn in a process of its own."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(port)])
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def lambda_client(url: str) -> Any:
    config = Config(retries={"max_attempts": 1}, inject_host_prefix=False)
    return boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=config,
    )  # fmt: skip


class Bench:
    """The three clients and the resources they read."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)
        config = Config(retries={"max_attempts": 1}, inject_host_prefix=False)
        self.sfn = boto3.client(
            "stepfunctions",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=config,
        )
        self.lam = lambda_client(url)

    def aws_raw(self, operation: str, body: dict[str, Any]) -> Any:
        headers = {**JSON10, "x-amz-target": f"AWSStepFunctions.{operation}"}
        response = self.http.post("/", headers=headers, content=json.dumps(body))
        assert response.status_code == 200, response.text
        return response.json()

    def v1(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def machine(self, name: str, definition: dict[str, Any]) -> str:
        created = self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
        return str(created["stateMachineArn"])

    def finished(self, arn: str) -> str:
        """An execution of ``arn`` that has ended; its ARN."""
        execution = str(self.sfn.start_execution(stateMachineArn=arn)["executionArn"])
        while self.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            time.sleep(0.05)
        return execution


def execution_id(arn: str) -> str:
    """``arn:...:execution:MACHINE:NAME`` -> ``/v1``'s id ``MACHINE:NAME``."""
    return ":".join(arn.split(":")[-2:])


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def interleaved(rounds: int, ways: dict[str, Callable[[], Any]], warmup: int = 5) -> dict[str, list[float]]:
    for _ in range(warmup):
        for run in ways.values():
            run()
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):
        for way, run in ways.items():
            times[way].append(timed(run))
    return times


def summary(times: dict[str, list[float]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for way, samples in times.items():
        ordered = sorted(samples)
        out[way] = {
            "p50_ms": round(statistics.median(ordered), 3),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
            "n": len(ordered),
        }
    base = out["v1"]["p50_ms"]
    for way in ("boto3", "aws-raw"):
        out[way]["vs_v1"] = round(out[way]["p50_ms"] / base, 2)
    return out


def measure(bench: Bench, rounds: int, floor_url: str) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    one = bench.machine(f"bench-one-{run}", ONE_PASS)
    chain = bench.machine(f"bench-chain-{run}", pass_chain(499))
    one_name = one.rsplit(":", 1)[1]
    done = bench.finished(one)
    long = bench.finished(chain)
    events = bench.sfn.get_execution_history(executionArn=long, maxResults=1000)["events"]
    assert len(events) == 1000, len(events)

    results: dict[str, Any] = {}
    results["StartExecution"] = summary(
        interleaved(
            rounds,
            {
                "boto3": lambda: bench.sfn.start_execution(stateMachineArn=one, input='{"n": 1}'),
                "aws-raw": lambda: bench.aws_raw(
                    "StartExecution", {"stateMachineArn": one, "input": '{"n": 1}'}
                ),
                "v1": lambda: bench.v1(
                    "POST", f"/v1/state-machines/{one_name}/executions", json={"input": {"n": 1}}
                ),
            },
        )
    )
    results["DescribeExecution"] = summary(
        interleaved(
            rounds,
            {
                "boto3": lambda: bench.sfn.describe_execution(executionArn=done),
                "aws-raw": lambda: bench.aws_raw("DescribeExecution", {"executionArn": done}),
                "v1": lambda: bench.v1("GET", f"/v1/executions/{execution_id(done)}"),
            },
        )
    )
    results["GetExecutionHistory (1,000 events)"] = summary(
        interleaved(
            max(10, rounds // 5),
            {
                "boto3": lambda: bench.sfn.get_execution_history(executionArn=long, maxResults=1000),
                "aws-raw": lambda: bench.aws_raw(
                    "GetExecutionHistory", {"executionArn": long, "maxResults": 1000}
                ),
                "v1": lambda: bench.v1(
                    "GET", f"/v1/executions/{execution_id(long)}/history", params={"limit": 1000}
                ),
            },
        )
    )
    results["Invoke (warm, 1 KB)"] = invoke_row(bench, rounds, run, floor_url)
    return results


ECHO = "def handler(event, context):\n    return event\n"


def invoke_row(bench: Bench, rounds: int, run: str, floor_url: str) -> dict[str, Any]:
    """Lambda's Invoke of a warm echo function, 1 KB in and out, three ways and against the floors."""
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", ECHO)
    name = f"bench-echo-{run}"
    bench.lam.create_function(
        FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
        Code={"ZipFile": package.getvalue()},
    )  # fmt: skip
    payload = json.dumps({"data": "x" * 1000}).encode()
    assert len(payload) >= 1000

    def boto3_invoke() -> None:
        answer = bench.lam.invoke(FunctionName=name, Payload=payload)
        assert answer["Payload"].read() == payload

    def raw_invoke() -> None:
        answer = bench.http.post(f"/2015-03-31/functions/{name}/invocations", content=payload)
        assert answer.status_code == 200 and answer.content == payload, answer.text

    def v1_invoke() -> None:
        answer = bench.http.post(f"/v1/functions/{name}/invocations", content=payload)
        assert answer.status_code == 200 and answer.content == payload, answer.text

    floor_lambda, floor_http = lambda_client(floor_url), httpx.Client(base_url=floor_url)

    def boto3_floor() -> None:
        answer = floor_lambda.invoke(FunctionName=name, Payload=payload)
        assert answer["Payload"].read() == payload

    def httpx_floor() -> None:
        answer = floor_http.post(f"/2015-03-31/functions/{name}/invocations", content=payload)
        assert answer.content == payload

    ways = {
        "boto3": boto3_invoke, "aws-raw": raw_invoke, "v1": v1_invoke,
        "boto3-floor": boto3_floor, "httpx-floor": httpx_floor,
    }  # fmt: skip
    figures = summary(interleaved(rounds, ways, 20))
    figures["boto3"]["over_floor_ms"] = round(
        figures["boto3"]["p50_ms"] - figures["boto3-floor"]["p50_ms"], 3
    )
    figures["v1"]["over_floor_ms"] = round(figures["v1"]["p50_ms"] - figures["httpx-floor"]["p50_ms"], 3)
    return figures


def report(results: dict[str, Any]) -> None:
    print(f"{'operation':38} {'way':11} {'p50 ms':>9} {'p95 ms':>9} {'vs /v1':>7} {'over floor':>10}")
    for operation, ways in results.items():
        for way, figures in ways.items():
            ratio = f"{figures['vs_v1']:.2f}x" if "vs_v1" in figures else ""
            above = f"{figures['over_floor_ms']:.2f}" if "over_floor_ms" in figures else ""
            p50, p95 = figures["p50_ms"], figures["p95_ms"]
            print(f"{operation:38} {way:11} {p50:9.2f} {p95:9.2f} {ratio:>7} {above:>10}")


def main() -> int:
    args, rounds = rounds_arguments(__doc__, 200, quick=30)
    with (
        temporal_dev_server() as temporal,
        database() as url,
        stepline_dev(url, temporal) as api,
        echo_server() as floor,
    ):
        results = measure(Bench(api), rounds, floor)
    return finish(results, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
