"""A worker leading event source mappings in its own process (so a test can SIGKILL it), with a short
lease; prints ``ok <id>`` (flushed) for each record a successful invocation processed, before the
poller acknowledges it.

python -m tests.integration.event_sources.source_worker_process DATABASE_URL DATA_DIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from foundation.settings import Settings
from tests.integration.event_sources.kit import recording
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

LEASE = 1.0  # no other worker leads while it runs; the successor waits this long after the kill


async def main(database_url: str, data_dir: str) -> None:
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=Path(data_dir),
        event_sources={"lease_seconds": LEASE, "scan_seconds": 0.25},
    )  # fmt: skip
    seen: list[str] = []
    async with FunctionService(settings, run_events=False) as service:
        invoke = recording(source_invoker(service), seen, echo=True)
        async with EventSources(settings, service.sessions, invoke, metrics_registry=CollectorRegistry()):
            print("ready", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
