"""PostgreSQL table changes as an event source, against the server on this machine: a database of the
module's own reached through a db proxy, changes in per-key order in DynamoDB Streams' shape, only
reported failures to the destination, a late commit not skipped, a worker killed mid-batch losing
nothing, retention, filters, and roles without the privileges refused (hostile names are refused at
the ARN: tests/unit/workers/events/sources/test_postgres_changes.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from api import event_source_mapping_schemas as schemas
from api import resource_schemas
from api.services import event_source_mappings as use_cases
from api.services import functions as function_use_cases
from api.services import resources as resource_use_cases
from foundation.errors import InvalidRequest
from foundation.registry.database import unit_of_work
from foundation.registry.event_source_mappings import EventSourceMappingNotFound
from foundation.settings import Settings
from statemachine import FunctionResult
from tests.integration.conftest import create_database, drop_database
from tests.integration.event_sources.kit import killed_midway, recording, routed_ids, until
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.core import Invoke
from workers.events.sources.postgres_outbox import TRIM_EVERY
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["fn_settings", "service"]
REPORTING = """def handler(event, context):
    return {"batchItemFailures": [
        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
        if r["dynamodb"].get("NewImage", {}).get("tag", {}).get("S") == "fail"]}
"""
SLOW = """import time


def handler(event, context):
    time.sleep(0.1)
    return {}
"""


@pytest.fixture(scope="module")
async def user_database() -> AsyncIterator[str]:
    """The user's database (not Stepline's): tables, roles and the outbox live here."""
    url = await create_database()
    yield url
    await drop_database(url)


async def proxy(service: FunctionService, url: str) -> str:
    name = unique("pg")
    async with unit_of_work(service.sessions) as session:
        body = resource_schemas.DbProxyCreate(name=name, target_url=url)
        await resource_use_cases.create_db_proxy(session, service.settings, body)
    return name


async def table(url: str, ddl: str = "(id int PRIMARY KEY, v int, tag text)") -> str:
    name = f"t_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"CREATE TABLE {name} {ddl}")
    finally:
        await connection.close()
    return name


async def create(service: FunctionService, **fields: object) -> schemas.MappingPublic:
    async with unit_of_work(service.sessions) as session:
        body = schemas.MappingIn.model_validate(fields)
        return await use_cases.create_mapping(session, body, "us-east-1", service.settings)


def arn(proxy_name: str, relation: str, view: str = "") -> str:
    return f"arn:aws:postgres:us-east-1:123456789012:db-proxy/{proxy_name}/table/{relation}" + (
        f"/stream/{view}" if view else ""
    )


def sources(service: FunctionService, invoke: Invoke) -> EventSources:
    events = service.settings.event_sources.model_copy(
        update={"scan_seconds": 0.2, "lease_seconds": 2.0, "restart_pause_seconds": 0.5}
    )
    return EventSources(
        service.settings.model_copy(update={"event_sources": events}), service.sessions, invoke,
        metrics_registry=CollectorRegistry(), backoff=0.05,
    )  # fmt: skip


async def outbox_rows(url: str, mapping_uuid: str) -> int | None:
    """Rows left in the mapping's outbox (None: there is none)."""
    connection = await asyncpg.connect(url)
    try:
        name = f"stepline_changes_{mapping_uuid.replace('-', '')}"
        if await connection.fetchval("SELECT to_regclass($1)", name) is None:
            return None
        return int(await connection.fetchval(f"SELECT count(*) FROM {name}"))
    finally:
        await connection.close()


async def test_changes_in_order_per_key_in_dynamodb_shape_and_failures_to_the_destination(
    service: FunctionService, user_database: str
) -> None:
    name = await deploy(service, unique("esm"), {"app.py": REPORTING})
    relation = await table(user_database)
    db = await asyncpg.connect(user_database)
    await db.execute(f"INSERT INTO {relation} VALUES (1, 0, 'old'), (2, 0, 'old')")  # the snapshot's
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation), functionName=name,
        batchSize=7, startingPosition="TRIM_HORIZON", parallelizationFactor=3, maximumRetryAttempts=1,
        functionResponseTypes=["ReportBatchItemFailures"],
        destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    expected, failed = ["1:INSERT:1", "2:INSERT:2"], set()
    for step in range(1, 9):
        for key in range(1, 6):
            tag = "fail" if (step, key) in ((3, 2), (6, 4)) else "ok"
            await db.execute(
                f"INSERT INTO {relation} VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET v = $2, tag = $3",
                key, step, tag,
            )  # fmt: skip
            op = "MODIFY" if key <= 2 or step > 1 else "INSERT"
            expected.append(f"{key}:{op}:{len(expected) + 1}")
            if tag == "fail":
                failed.add(expected[-1])
    await db.execute(f"DELETE FROM {relation} WHERE id = 5")
    expected.append(f"5:REMOVE:{len(expected) + 1}")
    await db.execute(f"UPDATE {relation} SET v = v WHERE id = 1")  # no change: no record
    await db.close()
    assert len(failed) == 2
    seen: list[str] = []
    shapes: list[dict[str, Any]] = []

    async def keep(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        shapes.extend(json.loads(payload)["Records"])
        return await source_invoker(service)(name, payload, qualifier)

    async with sources(service, recording(keep, seen)):

        async def drained() -> bool:
            return len(set(seen)) >= len(expected) - 2 and await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained)
    assert set(seen) == set(expected) - failed
    for key in range(1, 6):  # each key's changes in commit order
        order = [int(s.rsplit(":", 1)[1]) for s in dict.fromkeys(seen) if s.startswith(f"{key}:")]
        assert order == sorted(order), key
    assert sorted(await routed_ids(service.sessions, destination, "stepline:postgres")) == sorted(failed)
    modify = next(r for r in shapes if r["eventName"] == "MODIFY")
    assert modify["eventSource"] == "stepline:postgres"
    assert modify["eventSourceARN"] == mapping.event_source_arn
    data = modify["dynamodb"]
    assert data["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert set(data["Keys"]) == {"id"} and set(data["Keys"]["id"]) == {"N"}
    assert set(data["NewImage"]) == {"id", "v", "tag"} and "S" in data["NewImage"]["tag"]
    assert int(data["NewImage"]["v"]["N"]) == int(data["OldImage"]["v"]["N"]) + 1
    assert len(data["SequenceNumber"]) == 20
    remove = next(r for r in shapes if r["eventName"] == "REMOVE")
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["id"] == {"N": "5"}
    await _delete(service, mapping.uuid)
    assert await outbox_rows(user_database, mapping.uuid) is None, "the outbox is dropped with the mapping"


async def _delete(service: FunctionService, mapping_uuid: str) -> None:
    async with unit_of_work(service.sessions) as session:
        await use_cases.delete_mapping(session, mapping_uuid, "us-east-1", service.settings)


async def test_deleting_the_function_drops_what_its_mappings_installed(
    service: FunctionService, user_database: str
) -> None:
    """The function's deletion cascades to its mappings and drops each one's trigger, trigger function
    and outbox from the user's database, as the mapping's own Delete does."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation), functionName=name,
        startingPosition="LATEST", enabled=False,
    )  # fmt: skip
    box = f"stepline_changes_{mapping.uuid.replace('-', '')}"
    installed = (
        "SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = $1) + "
        "(SELECT count(*) FROM pg_proc WHERE proname = $1)"
    )
    db = await asyncpg.connect(user_database)
    try:
        assert await db.fetchval(installed, box) == 2 and await outbox_rows(user_database, mapping.uuid) == 0
        async with unit_of_work(service.sessions) as session:
            await function_use_cases.delete_function(session, name, "us-east-1", service.settings)
        assert await db.fetchval(installed, box) == 0, "the trigger and its function are dropped"
        assert await outbox_rows(user_database, mapping.uuid) is None, "the outbox is dropped"
        await db.execute(f"INSERT INTO {relation} VALUES (1, 0, 'x')")  # the table itself is the user's
    finally:
        await db.close()
    with pytest.raises(EventSourceMappingNotFound):  # and the mapping went with the function
        await _delete(service, mapping.uuid)


async def test_a_worker_killed_mid_batch_loses_nothing(
    service: FunctionService, fn_settings: Settings, user_database: str
) -> None:
    """SIGKILL the leading worker mid-stream: its batch's rows were never deleted, so the next leader
    (once the lease expired and the dead connection's advisory lock went with it) processes them."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation, "KEYS_ONLY"),
        functionName=name, batchSize=5, startingPosition="LATEST",
    )  # fmt: skip
    db = await asyncpg.connect(user_database)
    await db.executemany(f"INSERT INTO {relation} VALUES ($1, 0, 'x')", [(i,) for i in range(150)])
    await db.close()
    everything = {f"{i}:INSERT:{i + 1}" for i in range(150)}
    first = await killed_midway(fn_settings)
    assert (await outbox_rows(user_database, mapping.uuid) or 0) > 0, "killed with nothing left"
    seen: list[str] = []
    async with sources(service, recording(source_invoker(service), seen)):

        async def drained() -> bool:
            if set(first) | set(seen) != everything:
                return False
            return await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained, 120)
    assert seen, "the successor processed what the killed worker left"
    await _delete(service, mapping.uuid)


async def test_a_mapping_cannot_read_what_its_credentials_cannot(
    service: FunctionService, user_database: str
) -> None:
    """A role without SELECT on the table (even with TRIGGER on it), or without the right to put a
    trigger on it, gets a 400 and nothing is installed; a missing table, proxy or AT_TIMESTAMP
    likewise."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    secret = await table(user_database)
    readable = await table(user_database)
    role = f"esm_low_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(user_database)
    await admin.execute(f"CREATE ROLE {role} LOGIN")
    await admin.execute(f"GRANT SELECT ON {readable} TO {role}")
    # TRIGGER alone would let PostgreSQL install a trigger that copies rows the role cannot read
    await admin.execute(f"GRANT TRIGGER ON {secret} TO {role}")
    policed = await table(user_database)  # readable, but only the rows a policy shows the role
    await admin.execute(f"ALTER TABLE {policed} ENABLE ROW LEVEL SECURITY")
    await admin.execute(f"CREATE POLICY own ON {policed} USING (tag = current_user)")
    await admin.execute(f"GRANT SELECT, TRIGGER ON {policed} TO {role}")
    await admin.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    low = await proxy(service, f"postgresql://{role}@{user_database.split('@', 1)[1]}")
    cases = [
        (arn(low, secret), "LATEST", "may not read table public." + secret),
        (arn(low, readable), "LATEST", "cannot install the change trigger"),
        (arn(low, policed), "LATEST", "row-level security"),
        (arn(low, "no_such_table"), "LATEST", "does not exist"),
        (arn("no-such-proxy", readable), "LATEST", "db proxy 'no-such-proxy' does not exist"),
        (arn(await proxy(service, user_database), readable), "AT_TIMESTAMP", "TRIM_HORIZON or LATEST"),
    ]
    outboxes = "SELECT count(*) FROM pg_class WHERE relname LIKE 'stepline_changes_%'"
    before = await admin.fetchval(outboxes)
    try:
        for source, position, says in cases:
            extra = (
                {"startingPositionTimestamp": "2026-01-01T00:00:00Z"} if position == "AT_TIMESTAMP" else {}
            )
            with pytest.raises(InvalidRequest) as refused:
                await create(
                    service, eventSourceArn=source, functionName=name, startingPosition=position, **extra
                )
            assert says in refused.value.detail, refused.value.detail
        assert await admin.fetchval(outboxes) == before
        assert await admin.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'stepline%'") == 0
    finally:
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_quoting_of_names_the_catalog_holds(service: FunctionService, user_database: str) -> None:
    """A mixed-case schema and table (taken as written) and a primary key column whose name holds a
    quote and a dollar-quote tag are installed and read correctly."""
    admin = await asyncpg.connect(user_database)
    await admin.execute('CREATE SCHEMA IF NOT EXISTS "Sales"')
    await admin.execute("""CREATE TABLE "Sales"."Orders" ("it's $stepline$ id" int PRIMARY KEY, note text)""")
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), "Sales.Orders"), functionName=name,
        startingPosition="LATEST",
    )  # fmt: skip
    try:
        await admin.execute("""INSERT INTO "Sales"."Orders" VALUES (7, 'x')""")
        row = await admin.fetchrow(
            f'SELECT op, keys::text FROM "Sales".stepline_changes_{mapping.uuid.replace("-", "")}'
        )
        assert row is not None and row[0] == "INSERT"
        assert json.loads(row[1]) == {"it's $stepline$ id": 7}
    finally:
        await _delete(service, mapping.uuid)
        await admin.execute('DROP SCHEMA "Sales" CASCADE')
        await admin.close()


async def test_an_unread_outbox_keeps_at_most_a_day_of_changes(
    service: FunctionService, user_database: str
) -> None:
    """No poller reads this mapping: the trigger itself trims changes older than 24 hours (every
    ``TRIM_EVERY`` changes), so the outbox of a disabled or orphaned mapping stays bounded."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation), functionName=name,
        startingPosition="LATEST", enabled=False,
    )  # fmt: skip
    box = f"stepline_changes_{mapping.uuid.replace('-', '')}"
    db = await asyncpg.connect(user_database)
    try:
        await db.executemany(f"INSERT INTO {relation} VALUES ($1, 0, 'x')", [(i,) for i in range(10)])
        await db.execute(f"UPDATE {box} SET at = at - interval '25 hours' WHERE id <= 5")
        await db.executemany(
            f"INSERT INTO {relation} VALUES ($1, 0, 'x')", [(i,) for i in range(10, TRIM_EVERY)]
        )
        assert await db.fetchval(f"SELECT min(id) FROM {box}") == 6
        assert await db.fetchval(f"SELECT count(*) FROM {box}") == TRIM_EVERY - 5
    finally:
        await db.close()
        await _delete(service, mapping.uuid)


async def test_filter_criteria_see_the_dynamodb_record(service: FunctionService, user_database: str) -> None:
    """A pattern on ``eventName`` and a typed ``NewImage`` value (Lambda's DynamoDB filter syntax): the
    other changes are acknowledged without an invocation."""
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    relation = await table(user_database)
    pattern = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"tag": {"S": ["keep"]}}}}
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation), functionName=name,
        startingPosition="LATEST", filterCriteria={"filters": [{"pattern": json.dumps(pattern)}]},
    )  # fmt: skip
    db = await asyncpg.connect(user_database)
    await db.execute(f"INSERT INTO {relation} VALUES (1, 0, 'keep'), (2, 0, 'drop'), (3, 0, 'drop')")
    await db.execute(f"UPDATE {relation} SET tag = 'keep', v = 1 WHERE id = 2")
    await db.execute(f"DELETE FROM {relation} WHERE id = 1")
    await db.close()
    seen: list[str] = []
    async with sources(service, recording(source_invoker(service), seen)):

        async def drained() -> bool:
            return await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained)
    assert sorted(seen) == ["1:INSERT:1", "2:MODIFY:4"]
    await _delete(service, mapping.uuid)


async def test_a_change_committed_late_is_read_and_a_keys_writers_keep_their_order(
    service: FunctionService, user_database: str
) -> None:
    """A transaction that took its id first but commits after later ones is not skipped (no id cursor:
    rows are deleted when done); a second writer of a key waits for the first, so its change comes
    after it (ids are taken under the row lock)."""
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation, "KEYS_ONLY"),
        functionName=name, startingPosition="LATEST",
    )  # fmt: skip
    slow, quick = await asyncpg.connect(user_database), await asyncpg.connect(user_database)
    seen: list[str] = []
    async with sources(service, recording(source_invoker(service), seen)):
        await quick.execute(f"INSERT INTO {relation} VALUES (1, 0, 'first')")  # change 1
        late = slow.transaction()
        await late.start()
        await slow.execute(f"UPDATE {relation} SET v = 1 WHERE id = 1")  # change 2, not committed
        await quick.execute(f"INSERT INTO {relation} VALUES (2, 0, 'quick')")  # change 3, committed
        await until(lambda: _holds("2:INSERT:3" in seen))
        waiting = asyncio.create_task(quick.execute(f"UPDATE {relation} SET v = 2 WHERE id = 1"))
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second writer of key 1 waits for the first"
        await late.commit()
        await waiting  # change 4
        await until(lambda: _holds(len(seen) >= 4))
    assert seen == ["1:INSERT:1", "2:INSERT:3", "1:MODIFY:2", "1:MODIFY:4"]
    await slow.close()
    await quick.close()
    await _delete(service, mapping.uuid)


async def _holds(value: bool) -> bool:
    return value


async def test_a_lost_database_connection_loses_nothing(service: FunctionService, user_database: str) -> None:
    """The poller's connection is terminated by the server mid-stream (as a database restart would):
    the poller fails, is started again, and reads what was not acknowledged."""
    name = await deploy(service, unique("esm"), {"app.py": SLOW})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation, "NEW_IMAGE"),
        functionName=name, batchSize=5, startingPosition="LATEST",
    )  # fmt: skip
    db = await asyncpg.connect(user_database)
    await db.executemany(f"INSERT INTO {relation} VALUES ($1, 0, 'x')", [(i,) for i in range(60)])
    seen: list[str] = []
    async with sources(service, recording(source_invoker(service), seen)):
        await until(lambda: _holds(len(seen) >= 10))
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'stepline-esm' AND datname = current_database()"
        )
        assert killed >= 1
        assert len(set(seen)) < 60, "killed with nothing left"

        async def drained() -> bool:
            return len(set(seen)) == 60 and await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained)
    assert set(seen) == {f"{i}:INSERT:{i + 1}" for i in range(60)}
    await db.close()
    await _delete(service, mapping.uuid)


CRASHING = """import os


def handler(event, context):
    if any(r["dynamodb"]["NewImage"]["tag"]["S"] == "crash" for r in event["Records"]):
        os._exit(3)
    return {}
"""


async def test_a_crashing_function_bisects_down_to_the_poisoned_changes(
    service: FunctionService, user_database: str
) -> None:
    """A function whose sandbox dies on two of 30 changes: the batch is split until each poisoned change
    fails alone (and goes to the destination after its retry); every other change is processed."""
    name = await deploy(service, unique("esm"), {"app.py": CRASHING})
    relation = await table(user_database)
    destination = f"arn:aws:sqs:us-east-1:123456789012:{unique('dlq')}"
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation, "NEW_IMAGE"),
        functionName=name, batchSize=10, startingPosition="LATEST", bisectBatchOnFunctionError=True,
        maximumRetryAttempts=1, destinationConfig={"onFailure": {"destination": destination}},
    )  # fmt: skip
    db = await asyncpg.connect(user_database)
    rows = [(i, "crash" if i in (4, 17) else "ok") for i in range(30)]
    await db.executemany(f"INSERT INTO {relation} VALUES ($1, 0, $2)", rows)
    await db.close()
    seen: list[str] = []
    async with sources(service, recording(source_invoker(service), seen)):

        async def drained() -> bool:
            return await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained, 120)
    assert set(seen) == {f"{i}:INSERT:{i + 1}" for i, tag in rows if tag == "ok"}
    routed = await routed_ids(service.sessions, destination, "stepline:postgres")
    assert sorted(routed) == ["17:INSERT:18", "4:INSERT:5"]
    await _delete(service, mapping.uuid)


async def test_the_batching_window_gathers_changes_made_apart(
    service: FunctionService, user_database: str
) -> None:
    """MaximumBatchingWindowInSeconds: once one change is in, the poller waits for more (woken by the
    trigger's notifications) and hands them over in one invocation."""
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    relation = await table(user_database)
    mapping = await create(
        service, eventSourceArn=arn(await proxy(service, user_database), relation, "KEYS_ONLY"),
        functionName=name, batchSize=100, maximumBatchingWindowInSeconds=2, startingPosition="LATEST",
    )  # fmt: skip
    sizes: list[int] = []

    async def sized(name: str, payload: bytes, qualifier: str | None) -> FunctionResult:
        sizes.append(len(json.loads(payload)["Records"]))
        return await source_invoker(service)(name, payload, qualifier)

    db = await asyncpg.connect(user_database)
    async with sources(service, sized):
        await asyncio.sleep(0.5)  # the poller is waiting
        for i in range(3):
            await db.execute(f"INSERT INTO {relation} VALUES ($1, 0, 'x')", i)
            await asyncio.sleep(0.2)

        async def drained() -> bool:
            return await outbox_rows(user_database, mapping.uuid) == 0

        await until(drained)
    await db.close()
    assert sizes == [3]
    await _delete(service, mapping.uuid)
