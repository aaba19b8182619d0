"""Record the Temporal histories that ``test_replay.py`` replays (run again after a deliberate,
compatible change to the workflow; never to paper over a replay failure).

    python -m tests.integration.record_histories [CASE ...]   (default: every case)

``histories/*_binary_payloads.json`` were recorded once invocations crossed Temporal as binary payloads
(``workers.payloads``); the others before, with JSON ones, as executions started by older workers
have them: keep both kinds (record into another directory and copy the new ones under new names).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from api.app import create_app
from foundation.db import upgrade
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import temporal_dev_server
from tests.integration.conftest import create_database, drop_database
from tests.integration.functions import TestInvoker
from workers.activities import Activities
from workers.worker import build_worker

HERE = Path(__file__).parent / "histories"
FN = "arn:aws:lambda:local:000000000000:function:"
ACTIVITY = "arn:aws:states:us-east-1:000000000000:activity:replay-activity"
CHILD_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:replay-child"
EXPRESS_CHILD_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:replay-express-child"

CASES: dict[str, tuple[dict[str, Any], Any, str | None]] = {
    "task_retry_catch": (
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": FN + "throttle",
                    "Retry": [
                        {
                            "ErrorEquals": ["Lambda.TooManyRequestsException"],
                            "IntervalSeconds": 1,
                            "MaxAttempts": 1,
                        }
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Add"}],
                    "End": True,
                },
                "Add": {"Type": "Task", "Resource": FN + "add", "Parameters": {"a": 1, "b": 2}, "End": True},
            },
        },
        {},
        None,
    ),
    "wait_parallel_map": (
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Both"},
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Each",
                            "States": {
                                "Each": {
                                    "Type": "Map",
                                    "MaxConcurrency": 2,
                                    "ItemSelector": {"a.$": "$$.Map.Item.Value", "b": 1},
                                    "ItemProcessor": {
                                        "StartAt": "Add",
                                        "States": {
                                            "Add": {"Type": "Task", "Resource": FN + "add", "End": True}
                                        },
                                    },
                                    "End": True,
                                }
                            },
                        },
                        {"StartAt": "Id", "States": {"Id": {"Type": "Pass", "End": True}}},
                    ],
                    "End": True,
                },
            },
        },
        [1, 2, 3],
        None,
    ),
    "heartbeat_activity_then_stop": (
        {
            "StartAt": "Beat",
            "States": {
                "Beat": {
                    "Type": "Task",
                    "Resource": FN + "sleep",
                    "TimeoutSeconds": 10,
                    "HeartbeatSeconds": 5,
                    "Next": "Wait",
                },
                "Wait": {"Type": "Wait", "Seconds": 60, "End": True},
            },
        },
        {"seconds": 0.1},
        "stop",
    ),
    "callback_activity_nested": (
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
                    "HeartbeatSeconds": 60,
                    "ResultPath": "$.answer",
                    "Next": "Work",
                },
                "Work": {"Type": "Task", "Resource": ACTIVITY, "ResultPath": "$.work", "Next": "Run"},
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "replay-child-run"},
                    "End": True,
                },
            },
        },
        {},
        "callbacks",
    ),
    "express_children": (
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                        "StartAt": "Add",
                        "States": {"Add": {"Type": "Task", "Resource": FN + "add", "End": True}},
                    },
                    "ResultPath": "$.each",
                    "Next": "Run",
                },
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": EXPRESS_CHILD_ARN, "Input": {"n": 1}},
                    "ResultSelector": {"out.$": "$.Output"},
                    "ResultPath": "$.run",
                    "Next": "Fire",
                },
                "Fire": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution",
                    "Parameters": {"StateMachineArn": EXPRESS_CHILD_ARN},
                    "ResultPath": "$.fired",
                    "End": True,
                },
            },
        },
        {"items": [{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]},
        None,
    ),
    "distributed_map_redrive": (
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "MaxConcurrency": 1,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Which",
                        "States": {
                            "Which": {
                                "Type": "Choice",
                                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "Flaky"}],
                                "Default": "Echo",
                            },
                            "Flaky": {"Type": "Task", "Resource": FN + "fail_once", "End": True},
                            "Echo": {"Type": "Task", "Resource": FN + "echo", "End": True},
                        },
                    },
                    "End": True,
                }
            },
        },
        [{"n": n, "bad": n == 3} for n in range(6)],
        "redrive",
    ),
}
"""``distributed_map_redrive``: the history of the redriven attempt (item 3 failed the first; the
redrive continues the same map run under the ``map-run-redrive`` patch: MapRunRedriven, items 0-2
not run again)."""


async def connect(address: str) -> Client:
    """A client, once the dev server's frontend is healthy (its port opens a little earlier)."""
    for _ in range(150):
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.2)
    return await Client.connect(address)


async def answer_callbacks(api: httpx.AsyncClient, execution: str) -> None:
    """Answer the ``callbacks`` case: a heartbeat and a success for the token, then the activity's task."""
    while True:
        events = (await api.get(f"/v1/executions/{execution}/history", params={"limit": 1000})).json()[
            "events"
        ]
        if any(e["type"] == "TaskSubmitted" for e in events):
            break
        await asyncio.sleep(0.1)
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")["taskScheduledEventDetails"]
    token = json.loads(scheduled["parameters"])["Payload"]["token"]
    await api.post("/v1/task-tokens/heartbeat", json={"taskToken": token})
    await api.post("/v1/task-tokens/success", json={"taskToken": token, "output": {"yes": True}})
    task = (await api.post("/v1/activities/replay-activity/tasks", params={"workerName": "recorder"})).json()
    await api.post("/v1/task-tokens/success", json={"taskToken": task["taskToken"], "output": {"done": 1}})


async def record(names: list[str]) -> None:
    url = await create_database()
    try:
        await asyncio.to_thread(upgrade, url)
        with temporal_dev_server() as address:
            queue = f"record-{uuid.uuid4().hex[:6]}"
            settings = Settings(
                database_url=SecretStr(url), temporal_address=address, temporal={"task_queue": queue}
            )
            client = await connect(address)
            engine = create_engine(url, pool_size=2)
            app = create_app(settings)
            worker = build_worker(client, queue, Activities(session_maker(engine), TestInvoker()))
            async with app.router.lifespan_context(app), worker:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://record") as api:
                    await api.post("/v1/activities", json={"name": "replay-activity"})
                    child = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                    await api.post("/v1/state-machines", json={"name": "replay-child", "definition": child})
                    express = {"name": "replay-express-child", "definition": child, "type": "EXPRESS"}
                    await api.post("/v1/state-machines", json=express)
                    for name, (definition, payload, action) in CASES.items():
                        if names and name not in names:
                            continue
                        machine = f"replay-{name.replace('_', '-')}"
                        await api.post("/v1/state-machines", json={"name": machine, "definition": definition})
                        started = await api.post(
                            f"/v1/state-machines/{machine}/executions", json={"input": payload}
                        )
                        execution = started.json()["executionId"]
                        handle = client.get_workflow_handle(execution)
                        if action == "callbacks":
                            await answer_callbacks(api, execution)
                        if action == "redrive":  # the first attempt fails; the history is the redrive's
                            await handle.result()
                            redriven = await api.post(f"/v1/executions/{execution}/redrive")
                            assert redriven.status_code < 300, redriven.text
                            handle = client.get_workflow_handle(execution)  # its latest run
                        if action == "stop":
                            await asyncio.sleep(2)
                            await api.post(
                                f"/v1/executions/{execution}/stop", json={"error": "E", "cause": "C"}
                            )
                        await handle.result()
                        history = await handle.fetch_history()
                        (HERE / f"{name}.json").write_text(history.to_json() + "\n")
                        print("recorded", name, len(history.events), "events")
            await engine.dispose()
    finally:
        await drop_database(url)


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
