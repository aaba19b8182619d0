"""A function runtime draining the Event queue in its own process (so a test can SIGKILL it), with a
short lease: a killed consumer's events are taken again after ``LEASE`` seconds, not 16 minutes (the
lease stays longer than the test's functions run).

python -m tests.integration.event_worker_process DATABASE_URL DATA_DIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pydantic import SecretStr

from foundation.settings import Settings
from workers.functions.destinations import Destinations
from workers.functions.event_queue import EventQueue
from workers.functions.event_wakeups import EventWakeups
from workers.functions.service import FunctionService

LEASE = 4.0
"""Four times the durability test's 1 s function: room for a cold start under load, since an attempt
whose lease expired records nothing."""


async def main(database_url: str, data_dir: str) -> None:
    settings = Settings(database_url=SecretStr(database_url), data_dir=Path(data_dir))
    async with FunctionService(settings, run_events=False) as service, EventWakeups(database_url) as wakeups:
        queue = EventQueue(
            service.sessions, (0.2, 0.2), Destinations(settings, service.sessions), lease_seconds=LEASE
        )
        print("ready", flush=True)
        await queue.consume(service.invocations.invoke, wakeups)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
