"""What the RUNNING status change costs an execution's start: the ``execution_started`` trigger
(migration 0024) on the insert every Standard start makes, in one run.

    python bench/status_changes.py [--rounds N] [--per-round N]

A fresh migrated database on the local PostgreSQL (``STEPLINE_BENCH_ADMIN_URL``); then, interleaved
round by round, p50 and p95 in microseconds of one autocommitted ``INSERT INTO execution`` (the row
``register_latest`` writes) over asyncpg, with ``synchronous_commit = off`` unless ``--durable`` (the
flush to disk varies by more than the trigger costs):

- ``no_trigger``: the trigger disabled (the floor: the insert as it was before);
- ``no_rule``: the trigger on, no enabled rule on the default bus (its one index lookup);
- ``enabled_rule``: an enabled rule on the default bus (the lookup, an outbox row, a notification).

Synchronous Express executions write no execution row: their hot path (``bench/hot_paths.py``) does
not pass through the trigger at all. The publishing itself (matching the rules, queuing deliveries)
is the deliverer's, off the request path.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg
from aws_api import database

from foundation.db import upgrade

INSERT = (
    "INSERT INTO execution (id, name, state_machine_name, state_machine_version, status, input, start_date)"
    " VALUES ($1, $2, 'bench', 1, 'RUNNING', '{}', now())"
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(connection: asyncpg.Connection, count: int) -> list[float]:
    took = []
    for _ in range(count):
        name = uuid.uuid4().hex
        started = time.perf_counter()
        await connection.execute(INSERT, f"bench:{name}", name)
        took.append((time.perf_counter() - started) * 1e6)
    return took


async def setup(connection: asyncpg.Connection, row: str) -> None:
    trigger = "DISABLE" if row == "no_trigger" else "ENABLE"
    await connection.execute(f"ALTER TABLE execution {trigger} TRIGGER execution_started")
    await connection.execute("DELETE FROM event_rule WHERE bus_name = 'default'")
    if row == "enabled_rule":
        await connection.execute(
            "INSERT INTO event_rule (bus_name, name, event_pattern, state, description, matched,"
            " delivered, failed, created_at)"
            " VALUES ('default', 'bench', '{\"source\": [\"x\"]}', 'ENABLED', '', 0, 0, 0, now())"
        )


async def run(url: str, rounds: int, per_round: int, durable: bool) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    if not durable:  # the commit's flush to disk varies more than the trigger costs: set it aside
        await connection.execute("SET synchronous_commit = off")
    rows = ["no_trigger", "no_rule", "enabled_rule"]
    results: dict[str, list[float]] = {row: [] for row in rows}
    try:
        await timed(connection, per_round)  # warm up
        for index in range(rounds):
            for row in rows[index % 3 :] + rows[: index % 3]:
                await setup(connection, row)
                results[row] += await timed(connection, per_round)
    finally:
        await connection.close()
    print(f"{'row':<14}{'p50 us':>10}{'p95 us':>10}  ({rounds} rounds x {per_round} inserts)")
    for row in rows:
        values = results[row]
        print(f"{row:<14}{percentile(values, 0.5):>10.0f}{percentile(values, 0.95):>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--durable", action="store_true", help="keep synchronous_commit on")
    args = parser.parse_args()
    with database() as url:
        upgrade(url)
        asyncio.run(run(url, args.rounds, args.per_round, args.durable))


if __name__ == "__main__":
    main()
