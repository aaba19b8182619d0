"""Callbacks and nested executions on Temporal: what a callback's resume and a ``.sync`` child cost.

    python bench/sfn.py [--json FILE] [--rounds 40]

Starts its own Temporal dev server and a fresh migrated PostgreSQL database on 127.0.0.1:5432, one
worker in this process (functions: an in-process no-op), and drives Stepline through ``/v1``
(in-process ASGI).

(a) callback round trip: SendTaskSuccess sent -> the next state entered (that event's timestamp, taken
    by the workflow, minus the wall clock just before the report), p50 and p90; and the report's own
    round trip (it returns once the workflow has taken the update);
(b) nested ``.sync:2`` overhead: a Task starting a one-Pass child and waiting for it
    (TaskScheduled -> TaskSucceeded) against a plain Lambda Task (LambdaFunctionScheduled ->
    LambdaFunctionSucceeded), medians of the same rounds.
Goal (issue 13): callback resume p50 < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from foundation.db import upgrade
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import temporal_dev_server
from statemachine import FunctionCall, FunctionResult
from workers.activities import Activities
from workers.worker import build_worker

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ECHO = "arn:aws:lambda:us-east-1:000000000000:function:echo"
CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
            "Next": "After",
        },
        "After": {"Type": "Pass", "End": True},
    },
}
PLAIN_TASK = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ECHO, "End": True}}}
CHILD = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


class Echo:
    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        return FunctionResult(call.payload)


def nested(child: str) -> dict[str, Any]:
    arn = f"arn:aws:states:us-east-1:000000000000:stateMachine:{child}"
    task = {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": True}
    return {"StartAt": "T", "States": {"T": {**task, "Parameters": {"StateMachineArn": arn}}}}


async def machine(api: httpx.AsyncClient, definition: dict[str, Any]) -> str:
    name = f"b-{uuid.uuid4().hex[:8]}"
    response = await api.post("/v1/state-machines", json={"name": name, "definition": definition})
    response.raise_for_status()
    return name


async def start(api: httpx.AsyncClient, name: str) -> str:
    response = await api.post(f"/v1/state-machines/{name}/executions", json={"input": {}})
    response.raise_for_status()
    return str(response.json()["executionId"])


async def history(api: httpx.AsyncClient, execution: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/executions/{execution}/history", params={"limit": 1000})
    response.raise_for_status()
    return list(response.json()["events"])


async def until(api: httpx.AsyncClient, execution: str, kind: str) -> list[dict[str, Any]]:
    while True:
        events = await history(api, execution)
        if any(e["type"] == kind for e in events):
            return events
        await asyncio.sleep(0.005)


def stamp(events: list[dict[str, Any]], kind: str) -> float:
    return datetime.fromisoformat(next(e for e in events if e["type"] == kind)["timestamp"]).timestamp()


async def callback_round(api: httpx.AsyncClient, name: str) -> tuple[float, float]:
    execution = await start(api, name)
    events = await until(api, execution, "TaskSubmitted")
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    token = json.loads(scheduled["parameters"])["Payload"]["token"]
    sent = time.time()
    response = await api.post("/v1/task-tokens/success", json={"taskToken": token, "output": {"ok": True}})
    answered = time.time()
    response.raise_for_status()
    events = await until(api, execution, "ExecutionSucceeded")
    entered = next(e for e in events if e["type"] == "PassStateEntered")
    resumed = datetime.fromisoformat(entered["timestamp"]).timestamp()
    return (resumed - sent) * 1000, (answered - sent) * 1000


async def task_duration(api: httpx.AsyncClient, name: str, begin: str, end: str) -> float:
    execution = await start(api, name)
    events = await until(api, execution, "ExecutionSucceeded")
    return (stamp(events, end) - stamp(events, begin)) * 1000


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p90": round(ordered[int(len(ordered) * 0.9) - 1], 2),
        "n": len(ordered),
    }


async def measure(api: httpx.AsyncClient, rounds: int) -> dict[str, Any]:
    callback = await machine(api, CALLBACK)
    plain = await machine(api, PLAIN_TASK)
    child = await machine(api, CHILD)
    parent = await machine(api, nested(child))
    for _ in range(3):  # warm caches (definitions compiled, connections open)
        await callback_round(api, callback)
    resumes, reports = zip(*[await callback_round(api, callback) for _ in range(rounds)], strict=True)
    sync_costs, plain_costs = [], []
    for _ in range(rounds):
        sync_costs.append(await task_duration(api, parent, "TaskScheduled", "TaskSucceeded"))
        plain_costs.append(
            await task_duration(api, plain, "LambdaFunctionScheduled", "LambdaFunctionSucceeded")
        )
    return {
        "callback_resume_ms": quantiles(list(resumes)),
        "send_task_success_round_trip_ms": quantiles(list(reports)),
        "sync_child_task_ms": quantiles(sync_costs),
        "plain_lambda_task_ms": quantiles(plain_costs),
        "sync_overhead_ms_p50": round(statistics.median(sync_costs) - statistics.median(plain_costs), 2),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    name = f"stepline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, database_url)
        with temporal_dev_server() as address:
            queue = f"bench-{uuid.uuid4().hex[:6]}"
            settings = Settings(
                database_url=SecretStr(database_url), temporal_address=address, temporal={"task_queue": queue}
            )
            client = await Client.connect(address)
            engine = create_engine(database_url, pool_size=10)
            app = create_app(settings)
            worker = build_worker(client, queue, Activities(session_maker(engine), Echo()))
            async with app.router.lifespan_context(app), worker:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:
                    results = await measure(api, args.rounds)
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
    parser.add_argument("--rounds", type=int, default=40)
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    text = json.dumps(figures, indent=2)
    print(text)
    if arguments.json:
        arguments.json.write_text(text + "\n")
