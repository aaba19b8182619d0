"""Record Distributed Map histories for ``test_replay.py`` with the workers of an earlier commit, so
that the replay test proves executions started before a deploy continue under today's code (the
patched branches of ``workers.host.TemporalHost.patched``).

    git worktree add /tmp/old 0b78b5c
    cp tests/integration/record_map_histories.py /tmp/old/tests/integration/
    cd /tmp/old && PYTHONPATH=/tmp/old python3 -m tests.integration.record_map_histories record OUT

Run from the old tree, this script imports that tree's API and workers (only this file comes from
today's tree). It writes, into ``OUT``, a Distributed Map the parent runs itself (6 child runs) and a
chunked one (300 child runs in ``MapChunk`` workflows), each caught in flight and once completed, and
a chunk's own history.

    python3 -m tests.integration.record_map_histories deploy /tmp/old   (from today's tree)

The deploy itself: the old tree's worker (a process of its own, on a database at the old tree's
migrations) starts both Maps and is killed while they run; the database is upgraded and today's
worker takes the executions over and must finish them (it prints their results).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client, WorkflowHandle

from api.app import create_app
from foundation.db import upgrade
from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from shell.embedded import temporal_dev_server
from tests.integration.conftest import create_database, drop_database
from tests.integration.functions import TestInvoker
from workers.activities import Activities
from workers.worker import build_worker

FN = "arn:aws:lambda:local:000000000000:function:"


def distributed(concurrency: int, seconds: float, timeout: int | None = None) -> dict[str, Any]:
    """A Distributed Map of the input's ``items``, each child run a ``sleep`` Task of ``seconds``
    (``timeout``: its TimeoutSeconds, retried once: a Task of a killed worker runs again)."""
    task: dict[str, Any] = {"Type": "Task", "Resource": FN + "sleep", "End": True}
    if timeout is not None:
        task |= {"TimeoutSeconds": timeout, "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}]}
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": concurrency,
                "ItemSelector": {"seconds": seconds, "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Sleep",
                    "States": {"Sleep": task},
                },
                "ResultSelector": {"n.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }


CASES = {
    # (definition, how many items, seconds into the run at which the in-flight history is taken)
    "distributed_map_inline": (distributed(2, 0.3), 6, 0.5),
    "distributed_map_chunked": (distributed(20, 0.05), 300, 1.0),
}

DEPLOYED = {
    # Longer, so that both are mid-run when the old worker dies
    "distributed_map_inline": (distributed(2, 1.0, 3), 6, 0.0),
    "distributed_map_chunked": (distributed(20, 0.2, 3), 300, 0.0),
}


async def connect(address: str) -> Client:
    for _ in range(150):
        try:
            return await Client.connect(address)
        except RuntimeError:
            await asyncio.sleep(0.2)
    return await Client.connect(address)


async def save(handle: WorkflowHandle[Any, Any], out: Path, name: str) -> None:
    history = await handle.fetch_history()
    (out / f"{name}.json").write_text(history.to_json() + "\n")
    print("recorded", name, len(history.events), "events")


async def record(out: Path) -> None:
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
                    for name, (definition, count, in_flight) in CASES.items():
                        machine = name.replace("_", "-")
                        created = await api.post(
                            "/v1/state-machines", json={"name": machine, "definition": definition}
                        )
                        assert created.status_code < 300, created.text
                        payload = {"items": list(range(count))}
                        started = await api.post(
                            f"/v1/state-machines/{machine}/executions", json={"input": payload}
                        )
                        execution = started.json()["executionId"]
                        handle = client.get_workflow_handle(execution)
                        await asyncio.sleep(in_flight)
                        await save(handle, out, f"{name}_in_flight")
                        result = await handle.result()
                        print(name, result)
                        await save(handle, out, name)
                        if name.endswith("chunked"):
                            chunk = client.get_workflow_handle(f"{execution}/map/Each/1")
                            await save(chunk, out, f"{name}_chunk")
            await engine.dispose()
    finally:
        await drop_database(url)


async def start_and_die(url: str, address: str, queue: str, seconds: float) -> None:
    """Old side of ``deploy``: start each case, run them for ``seconds``, then die mid-run."""
    settings = Settings(database_url=SecretStr(url), temporal_address=address, temporal={"task_queue": queue})
    client = await connect(address)
    engine = create_engine(url, pool_size=2)
    app = create_app(settings)
    worker = build_worker(client, queue, Activities(session_maker(engine), TestInvoker()))
    async with app.router.lifespan_context(app), worker:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://record") as api:
            for name, (definition, count, _) in DEPLOYED.items():
                machine = name.replace("_", "-")
                await api.post("/v1/state-machines", json={"name": machine, "definition": definition})
                started = await api.post(
                    f"/v1/state-machines/{machine}/executions", json={"input": {"items": list(range(count))}}
                )
                print(started.json()["executionId"], flush=True)
            await asyncio.sleep(seconds)
            os._exit(0)  # mid-run, as a worker replaced by a deploy stops


async def deploy(old: str) -> None:
    url = await create_database()
    try:
        env = {**os.environ, "PYTHONPATH": old}
        migrate = "import sys; from foundation.db import upgrade; upgrade(sys.argv[1])"
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", migrate, url], cwd=old, env=env, check=True
        )
        with temporal_dev_server() as address:
            queue = f"deploy-{uuid.uuid4().hex[:6]}"
            module = "tests.integration.record_map_histories"
            args = [sys.executable, "-m", module, "old-side", url, address, queue, "1.5"]
            ran = await asyncio.to_thread(
                subprocess.run, args, cwd=old, env=env, check=True, capture_output=True, text=True
            )
            executions = ran.stdout.split()
            print("old workers started", executions, "and died")
            await asyncio.to_thread(upgrade, url)
            client = await connect(address)
            engine = create_engine(url, pool_size=2)
            worker = build_worker(client, queue, Activities(session_maker(engine), TestInvoker()))
            async with worker:
                for execution in executions:
                    handle = client.get_workflow_handle(execution)
                    print(execution, await asyncio.wait_for(handle.result(), 120))
                    events = (await handle.fetch_history()).events
                    markers = [e for e in events if e.HasField("marker_recorded_event_attributes")]
                    patches = [
                        m for m in markers if m.marker_recorded_event_attributes.marker_name == "core_patch"
                    ]
                    print("  events", len(events), "patch markers", len(patches))
            await engine.dispose()
    finally:
        await drop_database(url)


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["record", out]:
            asyncio.run(record(Path(out)))
        case ["old-side", url, address, queue, seconds]:
            asyncio.run(start_and_die(url, address, queue, float(seconds)))
        case ["deploy", old]:
            asyncio.run(deploy(old))
        case _:
            raise SystemExit(__doc__)
