"""The pure parts of event source mappings: source ARNs, batchItemFailures answers, stream records."""

from __future__ import annotations

import base64

import pytest

from api.services.event_source_mappings import parse_source
from foundation.errors import InvalidRequest
from workers.events.sources.core import _item_failures, filter_view
from workers.events.sources.redis_streams import _start_id, to_record

MQ = "arn:aws:mq:us-east-1:123456789012:broker:rabbitmq"


def test_sources_are_named_by_arn_never_by_address() -> None:
    assert parse_source(MQ, ["orders"]) == ("rabbitmq", "orders")
    assert parse_source(f"{MQ}:b-1234", ["orders.v1"]) == ("rabbitmq", "orders.v1")
    assert parse_source("arn:aws:redis:us-east-1:123456789012:stream/clicks", None) == ("redis", "clicks")
    assert parse_source("arn:aws:nats:us-east-1:123456789012:stream/ORDERS", None) == ("nats", "ORDERS")


@pytest.mark.parametrize(
    ("arn", "queues", "where"),
    [
        (MQ, None, "/queues"),
        (MQ, ["has space"], "/queues/0"),
        (MQ, ["x" * 256], "/queues/0"),
        ("arn:aws:redis:us-east-1:123456789012:stream/", None, "/eventSourceArn"),
        ("arn:aws:redis:us-east-1:123456789012:stream/s", ["q"], "/queues"),
        ("amqp://evil.example:5672/", None, "/eventSourceArn"),
        ("arn:aws:nats:us-east-1:123456789012:stream/a.b", None, "/eventSourceArn"),
        ("arn:aws:mq:us-east-1:123456789012:broker:activemq", ["q"], "/eventSourceArn"),
    ],
)
def test_bad_sources_name_the_member(arn: str, queues: list[str] | None, where: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_source(arn, queues)
    assert raised.value.problems[0]["location"] == where


def test_batch_item_failures_answers() -> None:
    assert _item_failures('{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}') == {
        "a",
        "b",
    }
    assert _item_failures('{"batchItemFailures": []}') == set()
    assert _item_failures("null") == set()
    assert _item_failures("not json") == set()
    assert _item_failures('{"batchItemFailures": [{"itemIdentifier": ""}]}') is None
    assert _item_failures('{"batchItemFailures": [{"other": 1}]}') is None
    assert _item_failures('{"batchItemFailures": ["a"]}') is None


def test_stream_starting_positions() -> None:
    assert _start_id("TRIM_HORIZON", None) == "0"
    assert _start_id("LATEST", None) == "$"
    assert _start_id("AT_TIMESTAMP", 1700000000000) == "1699999999999-18446744073709551615"


def test_a_stream_entry_in_kinesis_shape() -> None:
    record = to_record(
        "clicks",
        b"1700000000123-4",
        {b"key": b"user-1", b"data": b"\x00\xff", b"n": b"1"},
        "arn:s",
        "eu-west-1",
    )
    assert record.id == "1700000000123-4"
    assert record.key == "user-1"
    assert record.arrived == 1700000000.123
    assert record.event["eventID"] == "clicks:1700000000123-4"
    assert record.event["redis"]["data"] == base64.b64encode(b"\x00\xff").decode()
    assert record.event["redis"]["fields"]["n"] == "1"
    assert (record.event["eventSource"], record.event["awsRegion"]) == ("stepline:redis", "eu-west-1")


def test_what_filters_see() -> None:
    assert filter_view({"body": '{"a": 1}', "messageId": "m"}) == {"body": {"a": 1}, "messageId": "m"}
    assert filter_view({"body": "plain"})["body"] == "plain"
    data = base64.b64encode(b'{"kind": "a"}').decode()
    seen = filter_view({"redis": {"data": data, "partitionKey": "k", "fields": {}}, "eventSource": "x"})
    assert seen == {"data": {"kind": "a"}, "partitionKey": "k", "fields": {}}
