"""Record Distributed Map histories for ``test_replay.py`` with the workers of an earlier commit, so
that the replay test proves executions started before a deploy continue under today's code (the
patched branches of ``workers.host.TemporalHost.patched``).

    git worktree add /tmp/old 0b78b5c
    cd /tmp/old && PYTHONPATH=/tmp/old python3 /work/main/tests/integration/record_map_histories.py OUT

Run from the old tree, this script imports that tree's API and workers (only this file comes from
today's tree). It writes, into ``OUT``, a Distributed Map the parent runs itself (6 child runs) and a
chunked one (300 child runs in ``MapChunk`` workflows), each caught in flight and once completed, and
a chunk's own history.
"""

from __future__ import annotations

import asyncio
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


def distributed(concurrency: int, seconds: float) -> dict[str, Any]:
    """A Distributed Map of the input's ``items``, each child run a ``sleep`` Task of ``seconds``."""
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
                    "States": {"Sleep": {"Type": "Task", "Resource": FN + "sleep", "End": True}},
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


if __name__ == "__main__":
    asyncio.run(record(Path(sys.argv[1])))
