"""Hot paths against their floors: warm invocations and synchronous executions over HTTP, one run.

    python bench/hot_paths.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database on the local PostgreSQL
(``STEPLINE_BENCH_ADMIN_URL``), ``stepline dev`` against both (API, worker and function pool in one
process, as users run it; ``bench/aws_api.py``'s helpers), a minimal FastAPI echo route under uvicorn
in another process (the HTTP floor) and, in this process, a ``FunctionService`` of its own (the pool's
warm invoke; ``bench/invoke.py``'s helpers). Then, interleaved round by round (the order rotating)
so that machine load falls on every row alike, p50 and p95 in ms of:

- floors: ``http_floor`` (the echo route, the same keep-alive httpx client), ``pool_invoke`` (a
  warm Python function through ``FunctionService.invoke``), ``unix_socket_rtt`` (1 KB to another
  process and back), ``boto3_floor`` (boto3's Lambda Invoke against the echo route);
- ``v1_invoke``: ``POST /v1/functions/{name}/invocations`` of a warm echo function, 1 KB;
- ``v1_sync``: ``POST /v1/state-machines/{name}/sync-executions`` of an EXPRESS machine of 10
  states (Pass, Choice, 3 Tasks on one warm function);
- ``boto3_invoke`` and ``boto3_sync``: the same two through the AWS endpoints (Lambda's Invoke,
  Step Functions' StartSyncExecution) with unmodified boto3;

then a Standard one-Task execution from start to SUCCEEDED (``/v1`` start, the workflow's result)
against a plain temporalio workflow running one activity that makes the same warm invocation (an
ordinary activity, and a local one as Stepline's sequential Tasks use), interleaved; then sync
executions per second with 8 and 32 concurrent httpx clients, with the CPU the ``stepline dev``
process and the whole machine spent per execution.

Goals (issue 16): ``v1_invoke`` <= http_floor + pool_invoke + 0.5 ms; ``v1_sync`` <= http_floor +
3 x pool_invoke + 1 ms with p95 <= 2 x p50; the Standard execution <= 1.1 x the plain workflow.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from aws_api import ROLE, Bench, database, lambda_client, stepline_dev
from invoke import EVENT, deploy, echo_peer, percentiles
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from foundation.registry.models import all_models
from foundation.settings import Settings
from shell.embedded import free_port, temporal_dev_server, wait_for_port
from workers.functions.service import FunctionService

ECHO = {"app.py": "def handler(event, context):\n    return event\n"}
FLOOR_SERVER = """
import sys, uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/{path:path}")
async def echo(path: str, request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"


def ten_states(function: str) -> dict[str, Any]:
    """10 states: Pass, Choice, then three Tasks on ``function`` with Pass states between them."""
    arn = function_arn(function)
    count = {"n.$": "States.MathAdd($.n, 1)", "data.$": "$.data"}
    return {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "data.$": "$.data"}, "Next": "Route"},
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Done"}],
                "Default": "First",
            },
            "First": {"Type": "Task", "Resource": arn, "Next": "Count1"},
            "Count1": {"Type": "Pass", "Parameters": count, "Next": "Second"},
            "Second": {"Type": "Task", "Resource": arn, "ResultPath": "$", "Next": "Count2"},
            "Count2": {"Type": "Pass", "Parameters": count, "Next": "Third"},
            "Third": {"Type": "Task", "Resource": arn, "ResultSelector": {"n.$": "$.n"}, "Next": "Shape"},
            "Shape": {"Type": "Pass", "Parameters": {"result.$": "$.n"}, "Next": "Tag"},
            "Tag": {"Type": "Pass", "Result": "done", "ResultPath": "$.tag", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }  # fmt: skip


@contextmanager
def floor_server() -> Iterator[str]:
    """The HTTP floor: one FastAPI route echoing the body under uvicorn, in a process of its own."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", FLOOR_SERVER, str(port)])
    try:
        wait_for_port("127.0.0.1", port, 30, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


def child_pid(marker: str) -> int:
    """The pid of this process's child whose command line holds ``marker`` (``stepline dev``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and marker in command:
            return int(entry.name)
    raise RuntimeError(f"no child process running {marker!r}")


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@activity.defn(name="bench_invoke")
async def plain_invoke(name: str) -> bytes:
    """The same warm invocation the Standard execution's Task makes (bench's own pool)."""
    service: FunctionService = activity_service[0]
    return (await service.invoke(name, EVENT)).payload


activity_service: list[FunctionService] = []


@workflow.defn(name="PlainOneActivity", sandboxed=False)
class PlainOneActivity:
    @workflow.run
    async def run(self, args: list[Any]) -> str:
        name, local = args
        options: dict[str, Any] = {"start_to_close_timeout": timedelta(seconds=60)}
        if local:
            await workflow.execute_local_activity(plain_invoke, name, **options)
        else:
            await workflow.execute_activity(plain_invoke, name, **options)
        return "SUCCEEDED"


async def timed(action: Callable[[], Awaitable[object] | object]) -> float:
    started = time.perf_counter()
    outcome = action()
    if asyncio.iscoroutine(outcome):
        await outcome
    return (time.perf_counter() - started) * 1000


async def interleaved(
    rounds: int, ways: dict[str, Callable[[], Any]], warmup: int = 5
) -> dict[str, list[float]]:
    """Every way once per round, the order rotating between rounds."""
    names = list(ways)
    for _ in range(warmup):
        for name in names:
            await timed(ways[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(await timed(ways[name]))
    return times


class HotPaths:
    """The clients, the resources they call and the bench's own function pool."""

    def __init__(self, api: str, floor: str, service: FunctionService, pool_function: str) -> None:
        self.bench = Bench(api)
        self.api = httpx.AsyncClient(base_url=api, timeout=60)
        self.floor = httpx.AsyncClient(base_url=floor, timeout=60)
        self.floor_lambda = lambda_client(floor)
        self.service = service
        self.pool_function = pool_function
        run = uuid.uuid4().hex[:6]
        self.function = f"hot-echo-{run}"
        self.express = f"hot-express-{run}"
        self.standard = f"hot-standard-{run}"

    def create(self) -> None:
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("app.py", ECHO["app.py"])
        self.bench.lam.create_function(
            FunctionName=self.function, Runtime="python3.11", Handler="app.handler", Role=ROLE,
            Code={"ZipFile": package.getvalue()},
        )  # fmt: skip
        definition = json.dumps(ten_states(self.function))
        self.express_arn = self.bench.sfn.create_state_machine(
            name=self.express, definition=definition, roleArn=ROLE, type="EXPRESS"
        )["stateMachineArn"]
        task = {"Type": "Task", "Resource": function_arn(self.function), "End": True}
        one_task = {"StartAt": "T", "States": {"T": task}}
        self.bench.sfn.create_state_machine(name=self.standard, definition=json.dumps(one_task), roleArn=ROLE)

    async def http_floor(self) -> None:
        answer = await self.floor.post("/v1/functions/x/invocations", content=EVENT)
        assert answer.content == EVENT

    async def v1_invoke(self) -> None:
        answer = await self.api.post(f"/v1/functions/{self.function}/invocations", content=EVENT)
        assert answer.status_code == 200 and answer.content == EVENT, answer.text

    async def v1_sync(self) -> None:
        body = {"input": {"n": 1, "data": "x" * 100}}
        answer = await self.api.post(f"/v1/state-machines/{self.express}/sync-executions", json=body)
        assert answer.status_code == 200 and answer.json()["status"] == "SUCCEEDED", answer.text

    async def pool_invoke(self) -> None:
        await self.service.invoke(self.pool_function, EVENT)

    def boto3_floor(self) -> None:
        answer = self.floor_lambda.invoke(FunctionName=self.function, Payload=EVENT)
        assert answer["Payload"].read() == EVENT

    def boto3_invoke(self) -> None:
        answer = self.bench.lam.invoke(FunctionName=self.function, Payload=EVENT)
        assert answer["Payload"].read() == EVENT

    def boto3_sync(self) -> None:
        answer = self.bench.sfn.start_sync_execution(
            stateMachineArn=self.express_arn, input=json.dumps({"n": 1, "data": "x" * 100})
        )
        assert answer["status"] == "SUCCEEDED", answer

    async def standard_execution(self, temporal: Client) -> None:
        url = f"/v1/state-machines/{self.standard}/executions"
        answer = await self.api.post(url, json={"input": {"n": 1}})
        assert answer.status_code == 201, answer.text
        outcome = await temporal.get_workflow_handle(answer.json()["executionId"]).result()
        assert outcome["status"] == "SUCCEEDED", outcome

    async def sync_throughput(self, clients: int, seconds: float, server_pid: int) -> dict[str, float]:
        """Sync executions per second with ``clients`` concurrent keep-alive clients."""
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        body = {"input": {"n": 1, "data": "x" * 100}}
        url = f"/v1/state-machines/{self.express}/sync-executions"
        async with httpx.AsyncClient(base_url=str(self.api.base_url), limits=limits, timeout=60) as client:
            await asyncio.gather(*(client.post(url, json=body) for _ in range(clients)))  # connections
            done = 0
            deadline = time.perf_counter() + seconds

            async def caller() -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    answer = await client.post(url, json=body)
                    assert answer.status_code == 200 and answer.json()["status"] == "SUCCEEDED"
                    done += 1

            cpu, busy, started = process_cpu_seconds(server_pid), machine_busy_seconds(), time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(clients)))
            elapsed = time.perf_counter() - started
            cpu, busy = process_cpu_seconds(server_pid) - cpu, machine_busy_seconds() - busy
        return {
            "executions_per_s": round(done / elapsed, 1),
            "server_cpu_ms_per_execution": round(cpu / done * 1000, 2),
            "machine_cpu_ms_per_execution": round(busy / done * 1000, 2),
        }


async def measure(
    paths: HotPaths, temporal: Client, rounds: int, server_pid: int, work: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": rounds, "load_average_at_start": os.getloadavg()[0]}
    paths.create()
    async with echo_peer(work) as (reader, writer):

        async def socket_rtt() -> None:
            writer.write(EVENT)
            await reader.readexactly(len(EVENT))

        ways: dict[str, Callable[[], Any]] = {
            "http_floor": paths.http_floor, "pool_invoke": paths.pool_invoke, "unix_socket_rtt": socket_rtt,
            "v1_invoke": paths.v1_invoke, "v1_sync": paths.v1_sync, "boto3_floor": paths.boto3_floor,
            "boto3_invoke": paths.boto3_invoke, "boto3_sync": paths.boto3_sync,
        }  # fmt: skip
        times = await interleaved(rounds, ways, warmup=20)
    rows = {name: percentiles(samples) for name, samples in times.items()}
    results["latency_ms"] = rows
    floor, pool = rows["http_floor"]["p50"], rows["pool_invoke"]["p50"]
    boto3_floor = rows["boto3_floor"]["p50"]
    results["goals"] = {
        "v1_invoke_p50": rows["v1_invoke"]["p50"],
        "v1_invoke_goal_ms": round(floor + pool + 0.5, 3),
        "v1_sync_p50": rows["v1_sync"]["p50"],
        "v1_sync_goal_ms": round(floor + 3 * pool + 1, 3),
        "v1_sync_p95_over_p50": round(rows["v1_sync"]["p95"] / rows["v1_sync"]["p50"], 2),
        "boto3_invoke_p50": rows["boto3_invoke"]["p50"],
        "boto3_invoke_goal_ms": round(boto3_floor + pool + 0.5, 3),
        "boto3_sync_p50": rows["boto3_sync"]["p50"],
        "boto3_sync_goal_ms": round(boto3_floor + 3 * pool + 1, 3),
    }
    standard_rounds = max(10, rounds // 5)
    standard = await interleaved(
        standard_rounds,
        {
            "stepline_standard_one_task": lambda: paths.standard_execution(temporal),
            "plain_one_activity": lambda: temporal.execute_workflow(
                "PlainOneActivity", [paths.pool_function, False], id=f"plain-{uuid.uuid4().hex}",
                task_queue=PLAIN_QUEUE,
            ),
            "plain_one_local_activity": lambda: temporal.execute_workflow(
                "PlainOneActivity", [paths.pool_function, True], id=f"plain-{uuid.uuid4().hex}",
                task_queue=PLAIN_QUEUE,
            ),
        },
    )  # fmt: skip
    results["standard_ms"] = {name: percentiles(samples) for name, samples in standard.items()}
    step = results["standard_ms"]["stepline_standard_one_task"]["p50"]
    results["goals"]["standard_over_plain_activity"] = round(
        step / results["standard_ms"]["plain_one_activity"]["p50"], 2
    )
    results["goals"]["standard_over_plain_local_activity"] = round(
        step / results["standard_ms"]["plain_one_local_activity"]["p50"], 2
    )
    seconds = 3.0 if rounds < 100 else 8.0
    results["sync_throughput"] = {
        f"{n}_clients": await paths.sync_throughput(n, seconds, server_pid) for n in (8, 32)
    }
    return results


PLAIN_QUEUE = f"plain-{uuid.uuid4().hex[:6]}"


async def run(rounds: int, api: str, floor: str, temporal_address: str, database_url: str) -> dict[str, Any]:
    server_pid = child_pid(" dev")
    all_models()  # every table mapped (a function's foreign keys name other concepts' tables)
    work = Path(tempfile.mkdtemp(prefix="stepline-hot-"))
    os.chmod(work, 0o711)  # reachable by unprivileged sandbox users
    try:
        settings = Settings(database_url=SecretStr(database_url), data_dir=work / "data")
        async with FunctionService(settings, run_events=False) as service:
            activity_service.append(service)
            pool_function = await deploy(service, "python3.11", ECHO, "app.handler")
            temporal = await Client.connect(temporal_address)
            worker = Worker(
                temporal, task_queue=PLAIN_QUEUE, workflows=[PlainOneActivity], activities=[plain_invoke]
            )
            async with worker:
                paths = HotPaths(api, floor, service, pool_function)
                return await measure(paths, temporal, rounds, server_pid, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, Any]) -> None:
    print(f"load average at start {results['load_average_at_start']:.2f}, {results['rounds']} rounds")
    print(f"{'row':34} {'p50 ms':>9} {'p95 ms':>9}")
    for group in ("latency_ms", "standard_ms"):
        for name, figures in results[group].items():
            print(f"{name:34} {figures['p50']:9.3f} {figures['p95']:9.3f}")
    for name, figures in results["sync_throughput"].items():
        print(f"sync executions, {name:17} {figures}")
    print(json.dumps(results["goals"], indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="40 rounds, short throughput runs")
    args = parser.parse_args()
    rounds = 40 if args.quick else args.rounds
    if shutil.which("bwrap") is None:
        sys.exit("bench/hot_paths.py needs bubblewrap (bwrap)")
    with (
        temporal_dev_server() as temporal,
        database() as url,
        stepline_dev(url, temporal) as api,
        floor_server() as floor,
    ):
        results = asyncio.run(run(rounds, api, floor, temporal, url))
    report(results)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
