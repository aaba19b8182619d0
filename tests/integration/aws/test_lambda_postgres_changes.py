"""PostgreSQL table change mappings through both front doors: unmodified boto3's
CreateEventSourceMapping carries a table's changes to a function end to end (the API's own runtime
leads it), /v1 creates and deletes one (the outbox goes with it), and bad sources are 400s in each
API's words."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.conftest import create_database, drop_database
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]
RECORDER = """import json


def handler(event, context):
    for record in event["Records"]:
        print("RECORD " + json.dumps(record, sort_keys=True))
    return {}
"""


@pytest.fixture(scope="module")
async def user_database() -> AsyncIterator[str]:
    url = await create_database()
    yield url
    await drop_database(url)


def _sql(url: str, *statements: str) -> Any:
    async def run() -> Any:
        connection = await asyncpg.connect(url)
        try:
            found = None
            for statement in statements:
                found = await connection.fetchval(statement)
            return found
        finally:
            await connection.close()

    return asyncio.run(run())


def _proxy(aws_url: str, url: str) -> str:
    name = unique("pg")
    made = httpx.post(f"{aws_url}/v1/db-proxies", json={"name": name, "targetUrl": url})
    assert made.status_code == 201, made.text
    return name


def test_boto3_mapping_carries_a_tables_changes_in_dynamodb_shape(
    lam: Any, aws_url: str, user_database: str
) -> None:
    name = unique("esm")
    create(lam, name, {"app.py": RECORDER})
    table = f"t_{uuid.uuid4().hex[:10]}"
    _sql(user_database, f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
    source = (
        f"arn:aws:postgres:us-east-1:123456789012:db-proxy/{_proxy(aws_url, user_database)}/table/{table}"
    )
    made = checked(lam, "CreateEventSourceMapping", EventSourceArn=source, FunctionName=name,
                   StartingPosition="LATEST", BatchSize=10)  # fmt: skip
    assert (made["EventSourceArn"], made["StartingPosition"]) == (source, "LATEST")
    _sql(
        user_database,
        f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')",
        f"UPDATE {table} SET note = 'c' WHERE id = 1",
        f"DELETE FROM {table} WHERE id = 2",
    )
    deadline, found = time.monotonic() + 60, list[dict[str, Any]]()
    while time.monotonic() < deadline and len(found) < 4:
        time.sleep(0.3)
        events = httpx.get(f"{aws_url}/v1/functions/{name}/logs").json()["events"]
        found = [json.loads(e["message"].split("RECORD ", 1)[1]) for e in events if "RECORD " in e["message"]]
    found.sort(key=lambda r: r["dynamodb"]["SequenceNumber"])
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in found] == [
        ("INSERT", {"id": {"N": "1"}}),
        ("INSERT", {"id": {"N": "2"}}),
        ("MODIFY", {"id": {"N": "1"}}),
        ("REMOVE", {"id": {"N": "2"}}),
    ]
    modify = found[2]
    assert modify["dynamodb"]["NewImage"] == {"id": {"N": "1"}, "note": {"S": "c"}}
    assert modify["dynamodb"]["OldImage"] == {"id": {"N": "1"}, "note": {"S": "a"}}
    assert (modify["eventSource"], modify["eventSourceARN"]) == ("stepline:postgres", source)
    checked(lam, "DeleteEventSourceMapping", UUID=made["UUID"])
    assert _sql(user_database, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'stepline_changes_%'") == 0


def test_v1_creates_and_deletes_a_mapping_and_bad_sources_are_400s(
    lam: Any, aws_url: str, user_database: str
) -> None:
    name = unique("esm")
    create(lam, name, {"app.py": RECORDER})
    table = f"t_{uuid.uuid4().hex[:10]}"
    _sql(user_database, f"CREATE TABLE {table} (id int PRIMARY KEY)", f"INSERT INTO {table} VALUES (1)")
    proxy = _proxy(aws_url, user_database)
    source = f"arn:aws:postgres:us-east-1:123456789012:db-proxy/{proxy}/table/public.{table}/stream/KEYS_ONLY"
    made = httpx.post(
        f"{aws_url}/v1/event-source-mappings",
        json={"eventSourceArn": source, "functionName": name, "startingPosition": "TRIM_HORIZON"},
    )
    assert made.status_code == 202, made.text
    outbox = f"stepline_changes_{made.json()['uuid'].replace('-', '')}"
    assert _sql(user_database, f"SELECT to_regclass('{outbox}') IS NOT NULL")
    assert httpx.delete(f"{aws_url}/v1/event-source-mappings/{made.json()['uuid']}").status_code == 202
    assert not _sql(user_database, f"SELECT to_regclass('{outbox}') IS NOT NULL")
    hostile = f'arn:aws:postgres:us-east-1:123456789012:db-proxy/{proxy}/table/x";DROP TABLE {table};--'
    bad = httpx.post(
        f"{aws_url}/v1/event-source-mappings",
        json={"eventSourceArn": hostile, "functionName": name, "startingPosition": "LATEST"},
    )
    assert bad.status_code == 400 and "/eventSourceArn" in bad.text, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    code, status, message = error_of(
        lam.create_event_source_mapping, EventSourceArn=hostile, FunctionName=name, StartingPosition="LATEST"
    )
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "not a schema or table name" in message
    missing = source.replace(f"public.{table}", "public.no_such_table")
    code, status, message = error_of(
        lam.create_event_source_mapping, EventSourceArn=missing, FunctionName=name, StartingPosition="LATEST"
    )
    assert (code, status, "does not exist" in message) == ("InvalidParameterValueException", 400, True)
    assert _sql(user_database, f"SELECT count(*) FROM {table}") == 1, "the table is untouched"
