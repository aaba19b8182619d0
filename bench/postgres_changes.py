"""PostgreSQL table changes' speed: changes per second through a mapping into a no-op Python function
(batch size 100), against a plain asyncpg reader of the same kind of outbox doing the same work in one
process (read 100 in id order, build the batch's ``{"Records": [...]}`` JSON, delete them), in one run;
and the latency of one change on an idle mapping (the writer's commit to the end of its invocation).

    python bench/postgres_changes.py [--changes N] [--samples N] [--json FILE]

The companion of bench/events.py (its helpers, its goals: >= 0.5x the plain reader, p50 < 20 ms). Uses
a scratch Stepline database, a scratch user database reached through a db proxy, and real sandboxes.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import asyncpg
from _common import json_main
from events import ADMIN_URL, BATCH, BODY, Counter, latency, noop_service, rate
from prometheus_client import CollectorRegistry

from api import event_source_mapping_schemas as schemas
from api import resource_schemas
from api.services import event_source_mappings as use_cases
from api.services import resources as resource_use_cases
from foundation.registry.database import unit_of_work
from workers.events.sources import postgres_outbox as outbox
from workers.events.sources.runner import EventSources, source_invoker


async def write(url: str, table: str, first: int, count: int) -> None:
    connection = await asyncpg.connect(url)
    await connection.executemany(
        f"INSERT INTO {table} VALUES ($1, $2)", [(i, BODY) for i in range(first, first + count)]
    )
    await connection.close()


async def plain_reader(url: str, names: outbox.Names, count: int) -> float:
    """asyncpg: 100 rows in id order, each batch built as the event would be, then deleted."""
    connection = await outbox.connect(url)
    done, first = 0, 0.0
    while done < count:
        rows = await outbox.read(connection, names, BATCH)
        first = first or time.perf_counter()
        json.dumps({"Records": [{"SequenceNumber": r["id"], "NewImage": json.loads(r["new"])} for r in rows]})
        await outbox.acknowledge(connection, names, [r["id"] for r in rows])
        done += len(rows)
    elapsed = rate(count, first, time.perf_counter())
    await connection.close()
    return elapsed


async def run(changes: int, samples: int) -> dict[str, Any]:
    results: dict[str, Any] = {"changes": changes, "batch_size": BATCH}
    user_db = f"stepline_bench_user_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{user_db}"')
    await admin.close()
    user_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{user_db}"
    try:
        async with noop_service() as (settings, service):
            async with unit_of_work(service.sessions) as session:
                proxy = resource_schemas.DbProxyCreate(name="bench", target_url=user_url)
                await resource_use_cases.create_db_proxy(session, settings, proxy)
            user = await asyncpg.connect(user_url)
            await user.execute("CREATE TABLE items (id int PRIMARY KEY, body text)")
            plain = outbox.Names.of(str(uuid.uuid4()), "public", "items")
            await outbox.install(user, plain, "NEW_IMAGE", snapshot=False)
            await write(user_url, "items", 0, changes)
            # the outbox is filled: its trigger goes, the mapping's alone from here on
            await user.execute(f"DROP TRIGGER {plain.outbox} ON items")
            results["plain_per_s"] = await plain_reader(user_url, plain, changes)
            await outbox.uninstall(user, plain)
            counter = Counter(source_invoker(service))
            async with unit_of_work(service.sessions) as session:
                body = schemas.MappingIn.model_validate({
                    "functionName": "noop", "batchSize": BATCH, "startingPosition": "LATEST",
                    "eventSourceArn": "arn:aws:postgres:us-east-1:123456789012:db-proxy/bench/"
                    "table/items/stream/NEW_IMAGE",
                })  # fmt: skip
                await use_cases.create_mapping(session, body, settings.region, settings)
            await write(user_url, "items", changes, changes)  # filled before its poller starts
            async with EventSources(
                settings, service.sessions, counter, metrics_registry=CollectorRegistry()
            ):
                await counter.reach(changes)
                results["mapping_per_s"] = rate(changes, counter.first, counter.last)
                next_id = 2 * changes

                async def insert_one() -> None:
                    nonlocal next_id
                    await user.execute("INSERT INTO items VALUES ($1, $2)", next_id, BODY)
                    next_id += 1

                results["idle_latency"] = await latency(counter, insert_one, samples)
            await user.close()
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{user_db}" WITH (FORCE)')
        await admin.close()
    results["ratio"] = round(results["mapping_per_s"] / results["plain_per_s"], 3)
    return results


def main() -> None:
    json_main(__doc__, "changes", 5000, run)


if __name__ == "__main__":
    main()
