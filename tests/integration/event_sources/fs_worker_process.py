"""A worker leading file-system event source mappings in its own process (so a test can SIGKILL it),
with a short lease; prints ``ok <eventName> <key>`` (flushed) for each record a successful invocation
processed, before its snapshot row is written.

python -m tests.integration.event_sources.fs_worker_process DATABASE_URL DATA_DIR
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from foundation.settings import Settings
from statemachine import FunctionResult
from workers.events.sources.core import Invoke
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

LEASE = 1.0  # no other worker leads while it runs; the successor waits this long after the kill


def printing(invoke: Invoke) -> Invoke:
    async def run(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        result = await invoke(name, payload, qualifier)
        if result.function_error is None:
            for record in json.loads(payload)["Records"]:
                print("ok", record["eventName"], record["s3"]["object"]["key"], flush=True)
        return result

    return run


async def main(database_url: str, data_dir: str) -> None:
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=Path(data_dir),
        event_sources={"lease_seconds": LEASE, "scan_seconds": 0.25},
    )  # fmt: skip
    async with FunctionService(settings, run_events=False) as service:
        invoke = printing(source_invoker(service))
        async with EventSources(settings, service.sessions, invoke, metrics_registry=CollectorRegistry()):
            print("ready", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
