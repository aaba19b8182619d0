"""A worker in its own process (so a test can SIGKILL it), with the built-in test functions and the
service integrations (endpoints and connections from the registry, the default allow-list); given
MARKS_FILE, also ``mark``, which appends its event's ``marker`` to it (a side effect that outlives the
process).

python -m tests.integration.worker_process TEMPORAL_ADDRESS DATABASE_URL TASK_QUEUE [MARKS_FILE]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client

from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from tests.integration.express_worker_process import MarkingInvoker
from tests.integration.functions import TestInvoker
from workers.activities import Activities
from workers.integrations import for_settings
from workers.worker import build_worker


async def main(address: str, database_url: str, task_queue: str, marks: str | None = None) -> None:
    engine = create_engine(database_url, pool_size=2)
    client = await Client.connect(address)
    sessions = session_maker(engine)
    integrations = for_settings(Settings(database_url=SecretStr(database_url)), sessions)
    invoker = MarkingInvoker(Path(marks)) if marks else TestInvoker()
    activities = Activities(sessions, invoker, integrations.call)
    worker = build_worker(client, task_queue, activities, sticky_queue_timeout=timedelta(seconds=1))
    async with worker:
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
