"""Durable executions on Temporal, against plain temporalio workflows of the same shape, same run.

    python bench/durable.py [--json FILE] [--executions 300] [--quick]

Starts its own Temporal dev server (fast dispatch) and a fresh migrated PostgreSQL database on
127.0.0.1:5432, one worker in this process serving both Stepline's workflow and the plain
baselines, and drives Stepline through its HTTP API (in-process ASGI). Functions are an in-process
no-op invoker: this measures the durable path, not the sandboxes.

(a) executions/s (started and completed) of Pass, Choice, Task, Pass, Succeed with 50 in flight,
    vs a plain workflow doing the same with one activity;
(b) added latency of one Task state (a one-Task execution minus a one-Pass execution) vs a raw
    activity round trip (a plain workflow with a no-op activity minus one without), and the
    local-activity floor; the runs interleave, and each cost is the median of per-round differences;
(c) a 1,000-item Map of Task states, MaxConcurrency 50, vs a plain workflow running 1,000 activities
    50 at a time (ratio: rates, as in (a));
(d) a 1,000-state Pass chain, end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from foundation.db import upgrade
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import temporal_dev_server
from statemachine import FunctionCall, FunctionResult
from workers.activities import Activities
from workers.worker import build_worker

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ADD = "arn:aws:lambda:local:000000000000:function:add"
FIVE_STATES = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"a.$": "$.x", "b": 2}, "Next": "Big?"},
        "Big?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "NumericGreaterThan": 100, "Next": "Done"}],
            "Default": "Add",
        },
        "Add": {"Type": "Task", "Resource": ADD, "Next": "Shape"},
        "Shape": {"Type": "Pass", "Parameters": {"sum.$": "$"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}
ONE_TASK = {"StartAt": "Add", "States": {"Add": {"Type": "Task", "Resource": ADD, "End": True}}}
NO_TASK = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 3, "End": True}}}
MAP_1000 = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 50,
            "ItemSelector": {"a.$": "$$.Map.Item.Value", "b": 1},
            "ItemProcessor": {
                "StartAt": "Add",
                "States": {"Add": {"Type": "Task", "Resource": ADD, "End": True}},
            },
            "ResultSelector": {"n.$": "States.ArrayLength($)"},
            "End": True,
        }
    },
}


def pass_chain(length: int) -> dict[str, Any]:
    states = {
        f"S{i}": {"Type": "Pass", "Result": i, "ResultPath": "$.last"}
        | ({"Next": f"S{i + 1}"} if i + 1 < length else {"End": True})
        for i in range(length)
    }
    return {"StartAt": "S0", "States": states}


class NoOpFunctions:
    """``add``: returns a + b, in process."""

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        event = json.loads(call.payload)
        return FunctionResult(json.dumps(event["a"] + event["b"]).encode())


@activity.defn(name="plain_add")
async def plain_add(event: dict[str, int]) -> int:
    return event["a"] + event["b"]


@workflow.defn(name="PlainFiveStates", sandboxed=False)
class PlainFiveStates:
    """The five-state machine written by hand: no interpreter, no history, no database."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        value = {"a": payload["x"], "b": 2}
        if value["a"] > 100:
            return value
        total = await workflow.execute_activity(
            plain_add, value, start_to_close_timeout=timedelta(seconds=60)
        )
        return {"sum": total}


@workflow.defn(name="PlainMap", sandboxed=False)
class PlainMap:
    """(c) written by hand: ``items`` activities, at most 50 at a time, in one workflow."""

    @workflow.run
    async def run(self, items: int) -> int:
        gate = asyncio.Semaphore(50)

        async def one(i: int) -> int:
            async with gate:
                return int(
                    await workflow.execute_activity(
                        plain_add, {"a": i, "b": 1}, start_to_close_timeout=timedelta(seconds=60)
                    )
                )

        return len(await asyncio.gather(*(one(i) for i in range(items))))


@workflow.defn(name="PlainRoundTrip", sandboxed=False)
class PlainRoundTrip:
    """0 = no activity, 1 = one activity, 2 = one local activity."""

    @workflow.run
    async def run(self, mode: int) -> int:
        if mode == 1:
            return int(
                await workflow.execute_activity(
                    plain_add, {"a": 1, "b": 2}, start_to_close_timeout=timedelta(seconds=60)
                )
            )
        if mode == 2:
            return int(
                await workflow.execute_local_activity(
                    plain_add, {"a": 1, "b": 2}, start_to_close_timeout=timedelta(seconds=60)
                )
            )
        return 3


class Bench:
    def __init__(self, api: httpx.AsyncClient, client: Client, queue: str, plain_queue: str) -> None:
        self.api, self.client, self.queue, self.plain_queue = api, client, queue, plain_queue

    async def machine(self, definition: dict[str, Any]) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        response = await self.api.post("/v1/state-machines", json={"name": name, "definition": definition})
        response.raise_for_status()
        return name

    async def run_stepline(self, machine: str, payload: Any) -> float:
        """Start through the API, wait for the workflow's result (written to PostgreSQL by then)."""
        began = time.perf_counter()
        response = await self.api.post(f"/v1/state-machines/{machine}/executions", json={"input": payload})
        response.raise_for_status()
        result = await self.client.get_workflow_handle(response.json()["executionId"]).result()
        assert result["status"] == "SUCCEEDED", result
        return time.perf_counter() - began

    async def run_plain(self, workflow_name: str, payload: Any) -> float:
        began = time.perf_counter()
        await self.client.execute_workflow(
            workflow_name, payload, id=f"plain-{uuid.uuid4().hex}", task_queue=self.plain_queue
        )
        return time.perf_counter() - began


async def throughput(count: int, in_flight: int, one: Callable[[int], Awaitable[float]]) -> float:
    """Executions per second with ``in_flight`` at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    began = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(count)))
    return count / (time.perf_counter() - began)


async def median_latency(count: int, one: Callable[[], Awaitable[float]]) -> float:
    for _ in range(3):
        await one()  # warm up
    return statistics.median([await one() for _ in range(count)])


async def interleaved(rounds: int, runs: dict[str, Callable[[], Awaitable[float]]]) -> dict[str, list[float]]:
    """Latencies of every run, one of each per round, in an order that rotates between rounds, so
    drift and noise (other processes, the dev server's SQLite) fall on all of them alike."""
    names = list(runs)
    for name in names:
        await runs[name]()  # warm up
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(await runs[name]())
    return times


def paired_cost(times: dict[str, list[float]], with_: str, without: str) -> float:
    """The median over rounds of (run with the step - run without it), in ms."""
    return statistics.median(a - b for a, b in zip(times[with_], times[without], strict=True)) * 1000


async def measure(bench: Bench, executions: int, samples: int) -> dict[str, Any]:
    five = await bench.machine(FIVE_STATES)
    results: dict[str, Any] = {}
    await throughput(20, 10, lambda i: bench.run_stepline(five, {"x": i}))  # warm up
    stepline_rate = await throughput(executions, 50, lambda i: bench.run_stepline(five, {"x": i}))
    plain_rate = await throughput(executions, 50, lambda i: bench.run_plain("PlainFiveStates", {"x": i}))
    results["a"] = {
        "stepline_per_second": round(stepline_rate, 1),
        "plain_per_second": round(plain_rate, 1),
        "ratio": round(stepline_rate / plain_rate, 2),
        "goal": ">= 0.8",
    }
    one_task, no_task = await bench.machine(ONE_TASK), await bench.machine(NO_TASK)
    times = await interleaved(
        samples * 2,
        {
            "one_task": lambda: bench.run_stepline(one_task, {"a": 1, "b": 2}),
            "pass_only": lambda: bench.run_stepline(no_task, {}),
            "raw_activity": lambda: bench.run_plain("PlainRoundTrip", 1),
            "raw_local_activity": lambda: bench.run_plain("PlainRoundTrip", 2),
            "raw_none": lambda: bench.run_plain("PlainRoundTrip", 0),
        },
    )
    task_cost = paired_cost(times, "one_task", "pass_only")
    activity_cost = paired_cost(times, "raw_activity", "raw_none")
    results["b"] = {
        "task_state_ms": round(task_cost, 2),
        "raw_activity_round_trip_ms": round(activity_cost, 2),
        "local_activity_floor_ms": round(paired_cost(times, "raw_local_activity", "raw_none"), 2),
        "ratio": round(task_cost / activity_cost, 2) if activity_cost > 0 else None,
        "goal": "<= 1.3",
        "rounds": samples * 2,
        "median_ms": {name: round(statistics.median(t) * 1000, 1) for name, t in times.items()},
    }
    map_machine = await bench.machine(MAP_1000)
    map_s = await bench.run_stepline(map_machine, list(range(1000)))
    plain_map_s = await bench.run_plain("PlainMap", 1000)
    results["c"] = {
        "map_1000_tasks_concurrency_50_s": round(map_s, 2),
        "plain_1000_activities_concurrency_50_s": round(plain_map_s, 2),
        "ratio": round(plain_map_s / map_s, 2),
    }
    chain = await bench.machine(pass_chain(1000))
    chain_s = await median_latency(max(5, samples // 2), lambda: bench.run_stepline(chain, {}))
    results["d"] = {
        "pass_chain_1000_ms": round(chain_s * 1000, 1),
        "pass_only_execution_ms": round(statistics.median(times["pass_only"]) * 1000, 1),
        "plain_empty_workflow_ms": round(statistics.median(times["raw_none"]) * 1000, 1),
        "goal": "< 100 ms",
    }
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, database_url)
        with temporal_dev_server() as address:
            queue, plain_queue = f"bench-{uuid.uuid4().hex[:6]}", f"plain-{uuid.uuid4().hex[:6]}"
            settings = Settings(
                database_url=SecretStr(database_url), temporal_address=address, temporal={"task_queue": queue}
            )
            client = await Client.connect(address)
            engine = create_engine(database_url, pool_size=20)
            app = create_app(settings)
            stepline_worker = build_worker(client, queue, Activities(session_maker(engine), NoOpFunctions()))
            plain_worker = Worker(
                client,
                task_queue=plain_queue,
                workflows=[PlainFiveStates, PlainMap, PlainRoundTrip],
                activities=[plain_add],
            )
            async with app.router.lifespan_context(app), stepline_worker, plain_worker:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:
                    results = await measure(
                        Bench(api, client, queue, plain_queue), args.executions, args.samples
                    )
            await engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--executions", type=int, default=300, help="executions per throughput run (a)")
    parser.add_argument(
        "--samples", type=int, default=30, help="rounds of (b) are twice this; runs of (d) half"
    )
    parser.add_argument("--quick", action="store_true", help="small runs (a smoke test)")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.executions, arguments.samples = 60, 5
    figures = asyncio.run(main(arguments))
    text = json.dumps(figures, indent=2)
    print(text)
    if arguments.json:
        arguments.json.write_text(text + "\n")
