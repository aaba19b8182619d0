"""Event source mappings through unmodified boto3: Create/Get/Update/List/Delete EventSourceMapping with
Lambda's shapes and errors, and a mapping that carries RabbitMQ messages to a function end to end (the
API's own runtime leads it; the broker on this machine)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
SNS = "arn:aws:sns:us-east-1:123456789012:topic"
MQ = "arn:aws:mq:us-east-1:123456789012:broker:rabbitmq"
RECORDER = """import json


def handler(event, context):
    for record in event["Records"]:
        print("RECORD " + json.dumps(record, sort_keys=True))
    return {}
"""


async def _queue(name: str, bodies: list[str], *, delete: bool = False) -> None:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        if delete:
            await channel.queue_delete(name)
            return
        await channel.declare_queue(name)
        for body in bodies:
            await channel.default_exchange.publish(
                aio_pika.Message(body.encode(), message_id=body, headers={"h": "v"}), routing_key=name
            )


def test_crud_and_errors_in_lambdas_words(lam: Any) -> None:
    name = unique("esm")
    create(lam, name)
    stream = f"arn:aws:redis:us-east-1:123456789012:stream/{unique('s')}"
    made = checked(
        lam, "CreateEventSourceMapping", EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST",
        BatchSize=50, MaximumRetryAttempts=3, FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": '{"data": {"kind": ["a"]}}'}]},
    )  # fmt: skip
    assert made["FilterCriteria"] == {"Filters": [{"Pattern": '{"data": {"kind": ["a"]}}'}]}
    assert made["State"] == "Creating"
    assert made["FunctionArn"].endswith(f":function:{name}")
    assert (made["BatchSize"], made["MaximumRetryAttempts"]) == (50, 3)
    assert made["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    uuid_ = made["UUID"]
    deadline = time.monotonic() + 30
    while checked(lam, "GetEventSourceMapping", UUID=uuid_)["State"] != "Enabled":
        assert time.monotonic() < deadline, "never Enabled"
        time.sleep(0.3)
    updated = checked(lam, "UpdateEventSourceMapping", UUID=uuid_, Enabled=False, BatchSize=7)
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 7)
    listed = checked(lam, "ListEventSourceMappings", FunctionName=name)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid_]
    assert (
        checked(lam, "ListEventSourceMappings", EventSourceArn=stream)["EventSourceMappings"][0]["UUID"]
        == uuid_
    )
    code, status, message = error_of(
        lam.create_event_source_mapping, EventSourceArn=stream, FunctionName=name, StartingPosition="LATEST"
    )
    assert (code, status) == ("ResourceConflictException", 409), message
    assert checked(lam, "DeleteEventSourceMapping", UUID=uuid_)["State"] == "Deleting"
    assert error_of(lam.get_event_source_mapping, UUID=uuid_)[:2] == ("ResourceNotFoundException", 404)
    assert error_of(lam.delete_event_source_mapping, UUID=uuid_)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}, "not a source Stepline reads"),
        ({"EventSourceArn": MQ}, "Queues"),
        ({"EventSourceArn": MQ, "Queues": ["q"], "StartingPosition": "LATEST"}, "StartingPosition"),
        ({"EventSourceArn": "arn:aws:redis:us-east-1:123456789012:stream/s"}, "StartingPosition"),
        ({"EventSourceArn": MQ, "Queues": ["a b"]}, "not a queue name"),
        ({"EventSourceArn": MQ, "Queues": ["q"], "MaximumRecordAgeInSeconds": 5}, "-1 or 60"),
        ({"EventSourceArn": MQ, "Queues": ["q"], "Topics": ["topic1"]}, "Topics"),
        ({"EventSourceArn": MQ, "Queues": ["q"], "FilterCriteria": {"Filters": [{"Pattern": '{"body": 1}'}]}},
         "Event pattern is not valid"),
        ({"EventSourceArn": MQ, "Queues": ["q"], "DestinationConfig": {"OnFailure": {"Destination": SNS}}},
         "is invalid"),
    ],
)  # fmt: skip
def test_bad_mappings_are_invalid_parameter_values(lam: Any, params: dict[str, Any], says: str) -> None:
    name = unique("esm")
    create(lam, name)
    code, status, message = error_of(lam.create_event_source_mapping, FunctionName=name, **params)
    assert (code, status) == ("InvalidParameterValueException", 400), message
    assert says in message


def test_unknown_function_is_not_found(lam: Any) -> None:
    code, status, _ = error_of(
        lam.create_event_source_mapping, EventSourceArn=MQ, Queues=["q"], FunctionName=unique("nobody")
    )
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_rabbitmq_messages_reach_the_function_in_sqs_shape(lam: Any, aws_url: str) -> None:
    name = unique("esm")
    create(lam, name, {"app.py": RECORDER})
    queue = f"test-esm-{uuid.uuid4().hex[:12]}"
    asyncio.run(_queue(queue, []))
    try:
        made = checked(lam, "CreateEventSourceMapping", EventSourceArn=MQ, Queues=[queue], FunctionName=name,
                       BatchSize=5)  # fmt: skip
        asyncio.run(_queue(queue, [f"m-{i}" for i in range(7)]))
        deadline, found = time.monotonic() + 60, list[dict[str, Any]]()
        while time.monotonic() < deadline and len(found) < 7:
            time.sleep(0.3)
            events = httpx.get(f"{aws_url}/v1/functions/{name}/logs").json()["events"]
            found = [
                json.loads(e["message"].split("RECORD ", 1)[1]) for e in events if "RECORD " in e["message"]
            ]
        assert sorted(r["body"] for r in found) == [f"m-{i}" for i in range(7)]
        record = found[0]
        assert record["eventSource"] == "stepline:rabbitmq"
        assert record["eventSourceARN"] == MQ
        assert record["messageAttributes"] == {"h": {"stringValue": "v", "dataType": "String"}}
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        shown = httpx.get(f"{aws_url}/v1/event-source-mappings/{made['UUID']}").json()
        assert shown["state"] == "Enabled"
        assert shown["lastProcessingResult"] == "OK"
        checked(lam, "DeleteEventSourceMapping", UUID=made["UUID"])
    finally:
        asyncio.run(_queue(queue, [], delete=True))


def test_file_system_objects_reach_the_function_in_s3_shape(lam: Any, aws_url: str) -> None:
    """A file system as the source (arn:aws:s3:::FS/PREFIX*SUFFIX, S3's filter rules), made and read
    through boto3; a missing file system is an InvalidParameterValueException naming it."""
    name = unique("esm")
    create(lam, name, {"app.py": RECORDER})
    fs = unique("fs").replace("-", "_")
    assert httpx.post(f"{aws_url}/v1/file-systems", json={"name": fs}).status_code == 201
    code, status, message = error_of(
        lam.create_event_source_mapping, EventSourceArn="arn:aws:s3:::nofs_here/x", FunctionName=name
    )
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "'nofs_here' does not exist" in message
    made = checked(
        lam, "CreateEventSourceMapping", EventSourceArn=f"arn:aws:s3:::{fs}/in/*.json", FunctionName=name,
        StartingPosition="TRIM_HORIZON", BatchSize=10,
    )  # fmt: skip
    assert made["EventSourceArn"] == f"arn:aws:s3:::{fs}/in/*.json" and made["MaximumRetryAttempts"] == 2
    deadline = time.monotonic() + 30
    while not (made_dirs := list(Path(tempfile.gettempdir()).glob(f"stepline-aws-*/fs/{fs}"))):
        assert time.monotonic() < deadline, "the worker did not open the file system"
        time.sleep(0.2)  # the served API's data directory: its worker makes the directory
    [root] = made_dirs
    (root / "in").mkdir()
    for file in ("a.json", "b.txt", "c d.json"):
        (root / "in" / file).write_text("{}")
    deadline, found = time.monotonic() + 60, list[dict[str, Any]]()
    while time.monotonic() < deadline and len(found) < 2:
        time.sleep(0.3)
        events = httpx.get(f"{aws_url}/v1/functions/{name}/logs").json()["events"]
        found = [json.loads(e["message"].split("RECORD ", 1)[1]) for e in events if "RECORD " in e["message"]]
    assert sorted(r["s3"]["object"]["key"] for r in found) == ["in/a.json", "in/c+d.json"]
    assert {r["eventName"] for r in found} == {"ObjectCreated:Put"}
    assert found[0]["s3"]["bucket"]["name"] == fs and found[0]["eventSource"] == "stepline:fs"
    checked(lam, "DeleteEventSourceMapping", UUID=made["UUID"])
