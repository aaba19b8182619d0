"""Express executions: what execution logging costs a synchronous one, and an asynchronous one's trip.

    python bench/express.py [--json FILE] [--rounds N] [--quick]

Starts a Temporal dev server, a fresh migrated database and ``stepline dev`` (``bench/aws_api.py``'s
helpers), then, interleaved round by round so that machine load falls on every row alike, p50 and
p95 in ms of ``POST /v1/state-machines/{name}/sync-executions`` of three EXPRESS machines of the same
10 Pass/Choice states: ``sync_logging_off`` (the hot path; logging does nothing), ``sync_logging_error``
(a level that logs none of a succeeding execution's events) and ``sync_logging_all`` (every event
journaled and written in batches); then ``async_start`` (StartExecution of an EXPRESS machine through
``/v1``: queued) and ``async_logged`` (from that start until its ExecutionSucceeded log event is
readable: claim, run, journal, batch write, read).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aws_api import database, stepline_dev

from shell.embedded import temporal_dev_server

TEN_STATES: dict[str, Any] = {
    "StartAt": "S0",
    "States": {
        **{
            f"S{i}": {"Type": "Pass", "Result": i, "ResultPath": f"$.s{i}", "Next": f"S{i + 1}"}
            for i in range(8)
        },
        "S8": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.s7", "NumericEquals": 7, "Next": "S9"}],
            "Default": "S9",
        },
        "S9": {"Type": "Pass", "End": True},
    },
}
GROUP = "arn:aws:logs:us-east-1:000000000000:log-group:bench-{}:*"


def machine(http: httpx.Client, level: str | None) -> str:
    name = f"bench-{level or 'off'}-{uuid.uuid4().hex[:6]}".lower()
    created = http.post(
        "/v1/state-machines", json={"name": name, "definition": TEN_STATES, "type": "EXPRESS"}
    )
    assert created.status_code == 201, created.text
    if level is not None:
        config = {
            "level": level,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP.format(name)}}],
        }
        assert http.put(f"/v1/state-machines/{name}/logging-configuration", json=config).status_code == 200
    return name


def timed(run: Any) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def measure(http: httpx.Client, rounds: int) -> dict[str, Any]:
    names = {"sync_logging_off": machine(http, None), "sync_logging_error": machine(http, "ERROR"),
             "sync_logging_all": machine(http, "ALL")}  # fmt: skip
    times: dict[str, list[float]] = {way: [] for way in [*names, "async_start", "async_logged"]}

    def sync(name: str) -> None:
        answer = http.post(f"/v1/state-machines/{name}/sync-executions", json={"input": {}})
        assert answer.status_code == 200 and answer.json()["status"] == "SUCCEEDED", answer.text

    for round_ in range(rounds + 5):
        for way, name in names.items():
            took = timed(lambda name=name: sync(name))
            if round_ >= 5:
                times[way].append(took)
    logged = names["sync_logging_all"]
    for _ in range(max(rounds // 4, 10)):
        started = time.perf_counter()
        answer = http.post(f"/v1/state-machines/{logged}/executions", json={"input": {}})
        assert answer.status_code == 201, answer.text
        times["async_start"].append((time.perf_counter() - started) * 1000)
        arn = answer.json()["executionArn"]
        while True:
            events = http.get("/v1/execution-logs", params={"executionArn": arn, "limit": 100}).json()[
                "events"
            ]
            if any(e["message"]["type"] == "ExecutionSucceeded" for e in events):
                break
            time.sleep(0.005)
        times["async_logged"].append((time.perf_counter() - started) * 1000)
    out: dict[str, Any] = {}
    for way, samples in times.items():
        ordered = sorted(samples)
        out[way] = {
            "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)], 2),
            "n": len(ordered),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="60 rounds")
    args = parser.parse_args()
    rounds = 60 if args.quick else args.rounds
    with (
        temporal_dev_server() as temporal,
        database() as url,
        stepline_dev(url, temporal) as api,
        httpx.Client(base_url=api, timeout=60) as http,
    ):
        results = measure(http, rounds)
    for way, row in results.items():
        print(f"{way:20} p50 {row['p50_ms']:8.2f} ms   p95 {row['p95_ms']:8.2f} ms   (n={row['n']})")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
