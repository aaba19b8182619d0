"""The console's API: how late live events arrive, and how fast the step-through and iteration views answer.

    python bench/console_api.py [--json FILE] [--rounds N] [--map-items N]

Starts a Temporal dev server, a fresh database on the local PostgreSQL and ``stepline dev`` against
both (``bench/aws_api.py``'s helpers), then:

- live delay: ``--rounds`` executions of Pass -> Wait 1 s -> Pass, each watched from its start
  through ``GET /v1/executions/{id}/events`` (httpx streaming, as the console's fetch does); for each
  event, its arrival time minus its history timestamp (when the workflow recorded it; same machine,
  same clock). The WaitStateExited event is the one that matters (recorded a second after the
  stream opened, so it can only arrive by being pushed); goal < 500 ms;
- step-through: ``GET .../states/{eventId}/steps`` of the last state of a 1,000-state Pass chain
  (2,002 events);
- iterations: the first page (100) and a page filtered by status of a ``--map-items`` Map (10,000 by
  default; its iterations run in chunks).

Medians, p95 and the worst, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aws_api import database, pass_chain, stepline_dev

from shell.embedded import temporal_dev_server

WAITING = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 1, "Next": "After"},
        "After": {"Type": "Pass", "End": True},
    },
}


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


async def machine(client: httpx.AsyncClient, name: str, definition: dict[str, Any], **extra: Any) -> str:
    response = await client.post("/v1/state-machines", json={"name": name, "definition": definition, **extra})
    response.raise_for_status()
    return name


async def finished(client: httpx.AsyncClient, machine_name: str, input: Any) -> str:
    started = await client.post(f"/v1/state-machines/{machine_name}/executions", json={"input": input})
    started.raise_for_status()
    execution_id: str = started.json()["executionId"]
    async with client.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        async for _ in response.aiter_bytes():  # the stream ends once the execution has
            pass
    return execution_id


async def watched(client: httpx.AsyncClient, machine_name: str) -> dict[str, float]:
    """One execution watched live: each event type's delay (ms) from recorded to received."""
    started = await client.post(f"/v1/state-machines/{machine_name}/executions", json={"input": {}})
    execution_id = started.json()["executionId"]
    delays: dict[str, float] = {}
    buffer = ""
    async with client.stream("GET", f"/v1/executions/{execution_id}/events") as response:
        async for text in response.aiter_text():
            received = time.time()
            buffer += text
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                data = next((line[6:] for line in block.split("\n") if line.startswith("data: ")), None)
                if data is None or "event: history" not in block:
                    continue
                event = json.loads(data)
                recorded = datetime.fromisoformat(event["timestamp"]).timestamp()
                delays.setdefault(event["type"], (received - recorded) * 1000)
    return delays


async def timed(client: httpx.AsyncClient, url: str, rounds: int, **params: Any) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = await client.get(url, params=params)
        response.raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def entered(client: httpx.AsyncClient, execution_id: str, name: str) -> int:
    page = (await client.get(f"/v1/executions/{execution_id}/history", params={"limit": 1000})).json()
    while True:
        for event in page["events"]:
            if event["type"].endswith("StateEntered") and event["stateEnteredEventDetails"]["name"] == name:
                return int(event["id"])
        token = page.get("nextToken")
        if not token:
            raise LookupError(name)
        page = (
            await client.get(f"/v1/executions/{execution_id}/history", params={"nextToken": token})
        ).json()


async def bench(url: str, rounds: int, map_items: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        await machine(client, "waiting", WAITING)
        live: dict[str, list[float]] = {}
        for _ in range(rounds):
            for kind, delay in (await watched(client, "waiting")).items():
                live.setdefault(kind, []).append(delay)
        results: dict[str, Any] = {
            "live_delay_ms": {kind: summary(values) for kind, values in live.items()},
        }
        await machine(client, "chain", pass_chain(1000))
        chain = await finished(client, "chain", {})
        last = await entered(client, chain, "S999")
        results["steps_1000_states_ms"] = summary(
            await timed(client, f"/v1/executions/{chain}/states/{last}/steps", 10)
        )
        big_map = {
            "StartAt": "Each",
            "States": {"Each": {"Type": "Map", "ItemProcessor": {
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}},
        }  # fmt: skip
        await machine(client, "map", big_map)
        mapped = await finished(client, "map", list(range(map_items)))
        each = await entered(client, mapped, "Each")
        iterations = f"/v1/executions/{mapped}/states/{each}/iterations"
        results[f"iterations_page_{map_items}_items_ms"] = summary(await timed(client, iterations, 5))
        results[f"iterations_failed_filter_{map_items}_items_ms"] = summary(
            await timed(client, iterations, 5, status="FAILED")
        )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--map-items", type=int, default=10_000)
    args = parser.parse_args()
    with temporal_dev_server() as temporal, database() as url, stepline_dev(url, temporal) as api:
        results = asyncio.run(bench(api, args.rounds, args.map_items))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
