"""A worker running asynchronous Express executions in its own process (so a test can SIGKILL it):
``workers.express.ExpressRunner`` with the built-in test functions, plus ``mark``, which appends its
event's ``marker`` to ``MARKS_FILE`` (a side effect that outlives the process).

python -m tests.integration.express_worker_process DATABASE_URL TASK_QUEUE DATA_DIR MARKS_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from pydantic import SecretStr

from foundation.registry.database import create_engine, session_maker
from foundation.settings import Settings
from statemachine import FunctionCall, FunctionResult
from tests.integration.functions import TestInvoker
from workers.express import ExpressRunner

LEASE_SECONDS = 2.0


class MarkingInvoker(TestInvoker):
    __test__ = False

    def __init__(self, marks: Path) -> None:
        super().__init__()
        self.marks = marks

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        if call.function.rsplit(":", 1)[-1] == "mark":
            with self.marks.open("a") as out:
                out.write(json.loads(call.payload)["marker"] + "\n")
            return FunctionResult(call.payload)
        return await super().invoke_for_state_machine(call)


async def main(database_url: str, task_queue: str, data_dir: str, marks: str) -> None:
    settings = Settings(
        database_url=SecretStr(database_url), data_dir=Path(data_dir), temporal={"task_queue": task_queue},
        worker={"express_lease_seconds": LEASE_SECONDS},
    )  # fmt: skip
    engine = create_engine(database_url, pool_size=2)
    async with ExpressRunner(
        settings, session_maker(engine), MarkingInvoker(Path(marks)), None, poll_seconds=0.2
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
