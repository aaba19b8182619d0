"""Asynchronous invocations' destinations: from an Event invoke to its OnSuccess destination having
run, against the Event invoke alone, interleaved in one run.

    python bench/destinations.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database on the local PostgreSQL and ``stepline dev``
against both (``bench/aws_api.py``'s helpers), then times, round-robin so that machine load hits all
rows alike, from the ``POST /v1/functions/{name}/invocations`` (``X-Invocation-Type: Event``) to the
moment the outcome is in PostgreSQL (polled every millisecond on a connection of the bench's own):

- ``plain_event`` (the peer): an Event invoke of ``sink`` (a warm no-op) until its event is SUCCEEDED;
- ``to_function``: an Event invoke of ``source`` (a warm no-op) whose OnSuccess destination is
  ``sink``, until ``sink``'s event holding ``source``'s request id is SUCCEEDED (two queued hops);
- ``to_state_machine``: an Event invoke of ``source-sm`` whose OnSuccess destination is a one-Pass
  state machine, until the execution named after the request id is SUCCEEDED (the outbox, then a
  Temporal workflow);
- ``start_execution`` (its floor): ``POST /v1/state-machines/{name}/executions`` of that machine,
  until SUCCEEDED, observed the same way;
- ``sync_invoke`` (the HTTP floor of an invocation): a RequestResponse invoke of ``sink``.

p50 and p95 in ms; ``destination_overhead_ms`` is ``to_function`` p50 less ``plain_event`` p50 (what
the record and the second hop add).
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
from _common import finish, interleaved_percentiles, rounds_arguments
from aws_api import ONE_PASS, ROLE, Bench, database, stepline_dev

from shell.embedded import temporal_dev_server

NOOP = "def handler(event, context):\n    return {}\n"
POLL_SECONDS = 0.001


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{name}"


def zipped(code: str) -> bytes:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", code)
    return package.getvalue()


class Destinations:
    """The functions, the machine and the clients; each row's action awaits its outcome."""

    def __init__(self, api: str, database_url: str) -> None:
        self.bench = Bench(api)
        self.api = httpx.AsyncClient(base_url=api, timeout=60)
        self.database_url = database_url
        run = uuid.uuid4().hex[:6]
        self.sink, self.source, self.source_sm = f"sink-{run}", f"source-{run}", f"source-sm-{run}"
        self.machine = f"destination-{run}"
        self.db: asyncpg.Connection | None = None

    async def create(self) -> None:
        for name in (self.sink, self.source, self.source_sm):
            self.bench.lam.create_function(
                FunctionName=name, Runtime="python3.11", Handler="app.handler", Role=ROLE,
                Code={"ZipFile": zipped(NOOP)},
            )  # fmt: skip
        machine = self.bench.machine(self.machine, ONE_PASS)
        self.bench.lam.put_function_event_invoke_config(
            FunctionName=self.source, MaximumRetryAttempts=0,
            DestinationConfig={"OnSuccess": {"Destination": function_arn(self.sink)}},
        )  # fmt: skip
        self.bench.lam.put_function_event_invoke_config(
            FunctionName=self.source_sm, MaximumRetryAttempts=0,
            DestinationConfig={"OnSuccess": {"Destination": machine}},
        )  # fmt: skip
        self.db = await asyncpg.connect(self.database_url)

    async def until(self, query: str, *args: object) -> None:
        assert self.db is not None
        deadline = time.monotonic() + 60
        while await self.db.fetchval(query, *args) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"not seen in 60 s: {query} {args}")
            await asyncio.sleep(POLL_SECONDS)

    async def event(self, function: str) -> str:
        answer = await self.api.post(
            f"/v1/functions/{function}/invocations", content=b'{"n": 1}',
            headers={"X-Invocation-Type": "Event"},
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        return answer.headers["x-amzn-requestid"]

    async def plain_event(self) -> None:
        request_id = await self.event(self.sink)
        await self.until("SELECT 1 FROM function_event WHERE id = $1 AND status = 'SUCCEEDED'", request_id)

    async def to_function(self) -> None:
        request_id = await self.event(self.source)
        await self.until(
            "SELECT 1 FROM function_event WHERE function_name = $1 AND status = 'SUCCEEDED'"
            " AND payload LIKE '%' || $2 || '%'", self.sink, request_id,
        )  # fmt: skip

    async def to_state_machine(self) -> None:
        request_id = await self.event(self.source_sm)
        await self.succeeded(f"{self.machine}:{request_id}")

    async def succeeded(self, execution_id: str) -> None:
        await self.until("SELECT 1 FROM execution WHERE id = $1 AND status = 'SUCCEEDED'", execution_id)

    async def start_execution(self) -> None:
        answer = await self.api.post(f"/v1/state-machines/{self.machine}/executions", json={"input": {}})
        assert answer.status_code == 201, answer.text
        await self.succeeded(answer.json()["executionId"])

    async def sync_invoke(self) -> None:
        answer = await self.api.post(f"/v1/functions/{self.sink}/invocations", content=b'{"n": 1}')
        assert answer.status_code == 200, answer.text


async def measure(api: str, database_url: str, rounds: int) -> dict[str, Any]:
    bench = Destinations(api, database_url)
    await bench.create()
    try:
        ways: dict[str, Callable[[], Awaitable[None]]] = {
            "plain_event": bench.plain_event, "to_function": bench.to_function,
            "to_state_machine": bench.to_state_machine, "start_execution": bench.start_execution,
            "sync_invoke": bench.sync_invoke,
        }  # fmt: skip
        rows = await interleaved_percentiles(rounds, ways, warmup=3)
    finally:
        assert bench.db is not None
        await bench.db.close()
        await bench.api.aclose()
    return {
        "rounds": rounds,
        "latency_ms": rows,
        "destination_overhead_ms": round(rows["to_function"]["p50"] - rows["plain_event"]["p50"], 3),
        "to_function_over_plain_event": round(rows["to_function"]["p50"] / rows["plain_event"]["p50"], 2),
    }


def report(results: dict[str, Any]) -> None:
    print(f"{results['rounds']} rounds")
    print(f"{'row':20} {'p50 ms':>9} {'p95 ms':>9}")
    for name, figures in results["latency_ms"].items():
        print(f"{name:20} {figures['p50']:9.2f} {figures['p95']:9.2f}")
    print(f"destination overhead (to_function - plain_event) p50: {results['destination_overhead_ms']:.2f} ms"
          f" ({results['to_function_over_plain_event']:.2f}x)")  # fmt: skip


def main() -> int:
    args, rounds = rounds_arguments(__doc__, 100, quick=20)
    with temporal_dev_server() as temporal, database() as url, stepline_dev(url, temporal) as api:
        results = asyncio.run(measure(api, url, rounds))
    return finish(results, report, args.json)


if __name__ == "__main__":
    sys.exit(main())
