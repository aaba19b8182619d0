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
    LambdaFunctionSucceeded), medians of the same rounds;
(c) Distributed Map of ``--map-items`` (100,000) items of a Pass processor: items read as JSON lines
    from a Stepline file system, in batches of ``--batch`` (``MaxItemsPerBatch``), results and manifest
    written back (ResultWriter); items/s from the execution's start to its stop, against an INLINE Map
    of the same items (``Items`` from JSONata, each iteration's output dropped so the result fits).
Goals (issue 13): callback resume p50 < 20 ms; Distributed Map >= 2,000 items/s with batching.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
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
from workers.integrations import for_settings as integrations_for
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


def distributed_map(file_system: str, batch: int) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    each = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": file_system, "Key": "items.jsonl"},
        },
        "ItemProcessor": processor,
        "ItemBatcher": {"MaxItemsPerBatch": batch},
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": file_system, "Prefix": "results"},
        },
        "End": True,
    }
    return {"StartAt": "Each", "States": {"Each": each}}


def inline_map(count: int) -> dict[str, Any]:
    each = {
        "Type": "Map",
        "Items": f"{{% [0..{count - 1}] %}}",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": {}, "End": True}}},
        "Output": {"done": True},
        "End": True,
    }
    return {"QueryLanguage": "JSONata", "StartAt": "Each", "States": {"Each": each}}


async def map_rate(api: httpx.AsyncClient, definition: dict[str, Any], count: int) -> dict[str, Any]:
    """Items/s of one execution of ``definition`` (its start to its stop) and how it ended."""
    execution = await start(api, await machine(api, definition))
    while True:
        body = (await api.get(f"/v1/executions/{execution}")).json()
        if body["status"] != "RUNNING":
            break
        await asyncio.sleep(0.2)
    seconds = (
        datetime.fromisoformat(body["stopDate"]) - datetime.fromisoformat(body["startDate"])
    ).total_seconds()
    return {
        "status": body["status"],
        "items": count,
        "seconds": round(seconds, 2),
        "items_per_s": round(count / seconds),
        **({"error": body.get("error"), "cause": body.get("cause")} if body["status"] != "SUCCEEDED" else {}),
    }


def write_items(data_dir: Path, file_system: str, count: int) -> None:
    """The items as JSON lines where the file system lives (under the data directory)."""
    root = data_dir.resolve() / "fs" / file_system
    root.mkdir(parents=True, exist_ok=True)
    (root / "items.jsonl").write_text("\n".join(str(i) for i in range(count)))


async def measure_maps(api: httpx.AsyncClient, data_dir: Path, count: int, batch: int) -> dict[str, Any]:
    file_system = f"bench{uuid.uuid4().hex[:6]}"
    (await api.post("/v1/file-systems", json={"name": file_system})).raise_for_status()
    await asyncio.to_thread(write_items, data_dir, file_system, count)
    return {
        f"distributed_map_batch_{batch}": await map_rate(api, distributed_map(file_system, batch), count),
        "inline_map": await map_rate(api, inline_map(count), count),
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
            data_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-"))
            settings = Settings(
                database_url=SecretStr(database_url),
                temporal_address=address,
                temporal={"task_queue": queue},
                data_dir=data_dir,
            )
            client = await Client.connect(address)
            engine = create_engine(database_url, pool_size=10)
            app = create_app(settings)
            sessions = session_maker(engine)
            activities = Activities(sessions, Echo(), integrations_for(settings, sessions).call)
            worker = build_worker(client, queue, activities)
            async with app.router.lifespan_context(app), worker:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:
                    results = {} if args.only_maps else await measure(api, args.rounds)
                    results |= await measure_maps(api, data_dir, args.map_items, args.batch)
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
    parser.add_argument("--map-items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100, help="MaxItemsPerBatch of the Distributed Map")
    parser.add_argument("--only-maps", action="store_true", help="skip (a) and (b)")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    text = json.dumps(figures, indent=2)
    print(text)
    if arguments.json:
        arguments.json.write_text(text + "\n")
