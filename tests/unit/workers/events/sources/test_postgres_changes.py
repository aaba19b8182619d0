"""The pure parts of the PostgreSQL table change source: its ARN, DynamoDB typed values, the record."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from api.services.event_source_mappings import parse_source
from api.services.postgres_change_sources import source_name
from foundation.errors import InvalidRequest
from workers.events.sources.core import filter_view
from workers.events.sources.postgres_changes import split_name, to_record, typed
from workers.events.sources.postgres_outbox import VIEW_TYPES, Names, OutboxError

PREFIX = "arn:aws:postgres:us-east-1:123456789012:db-proxy/shop/table/"


@pytest.mark.parametrize(
    ("rest", "name"),
    [
        ("orders", "shop/public.orders/NEW_AND_OLD_IMAGES"),
        ("sales.Orders", "shop/sales.Orders/NEW_AND_OLD_IMAGES"),
        ("_t1/stream/KEYS_ONLY", "shop/public._t1/KEYS_ONLY"),
        ("s.t/stream/OLD_IMAGE", "shop/s.t/OLD_IMAGE"),
    ],
)
def test_a_table_is_named_through_a_db_proxy(rest: str, name: str) -> None:
    assert parse_source(PREFIX + rest, None) == ("postgres", name)
    assert split_name(name)[0] == "shop"


@pytest.mark.parametrize(
    ("arn", "says"),
    [
        (PREFIX + 'orders";DROP TABLE orders;--', "not a schema or table name"),
        (PREFIX + "or ders", "not a schema or table name"),
        (PREFIX + "a.b.c", "not a schema or table name"),
        (PREFIX + "x" * 64, "not a schema or table name"),
        (PREFIX + "orders/stream/ALL", "not a StreamViewType"),
        (PREFIX + "orders/extra", "not a PostgreSQL table source"),
        ("arn:aws:postgres:us-east-1:123456789012:db-proxy/b@d/table/t", "not a db proxy name"),
        ("arn:aws:postgres:us-east-1:123456789012:postgresql://u:p@evil/db", "not a PostgreSQL table source"),
    ],
)
def test_hostile_names_are_refused_at_the_arn(arn: str, says: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        source_name(arn)
    assert says in raised.value.detail
    assert raised.value.problems[0]["location"] == "/eventSourceArn"


def test_names_refuse_what_would_need_quoting() -> None:
    with pytest.raises(OutboxError):
        Names.of("00000000-0000-0000-0000-000000000000", "public", 'a"b')
    assert Names.of("0a-1b", "public", "t").outbox == "stepline_changes_0a1b"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"NULL": True}),
        (True, {"BOOL": True}),
        (3, {"N": "3"}),
        (Decimal("12.50"), {"N": "12.50"}),
        ("2026-12-04T03:00:00+00:00", {"S": "2026-12-04T03:00:00+00:00"}),
        ([1, "a"], {"L": [{"N": "1"}, {"S": "a"}]}),
        ({"k": {"n": None}}, {"M": {"k": {"M": {"n": {"NULL": True}}}}}),
    ],
    ids=["null", "bool", "int", "decimal", "text", "list", "map"],
)
def test_values_are_dynamodb_typed(value: Any, expected: dict[str, Any]) -> None:
    assert typed(value) == expected


def test_a_modify_record_is_shaped_like_dynamodb_streams() -> None:
    row = {
        "id": 42, "op": "MODIFY", "keys": '{"id": 42}', "at": 1796353200.4637,
        "new": '{"id": 42, "total": 12.50, "note": "paid"}',
        "old": '{"id": 42, "total": 12.50, "note": "new"}',
    }  # fmt: skip
    names = Names.of("0a-1b", "public", "orders")
    record = to_record(row, names, "NEW_AND_OLD_IMAGES", PREFIX + "orders", "eu-west-1")
    event = record.event
    assert (record.id, record.key, record.handle) == ("00000000000000000042", '{"id": 42}', 42)
    assert event["eventID"] == "public.orders:00000000000000000042"
    assert (event["eventName"], event["eventSource"], event["awsRegion"]) == (
        "MODIFY", "stepline:postgres", "eu-west-1",
    )  # fmt: skip
    data = event["dynamodb"]
    assert data["Keys"] == {"id": {"N": "42"}}
    assert data["NewImage"]["total"] == {"N": "12.50"}, "numbers keep their digits"
    assert data["OldImage"]["note"] == {"S": "new"}
    assert data["ApproximateCreationDateTime"] == 1796353200.464
    assert filter_view(event)["eventName"] == "MODIFY"
    removal = to_record(
        {**row, "op": "REMOVE", "new": None, "old": None}, names, "KEYS_ONLY", PREFIX + "orders", "eu-west-1"
    ).event["dynamodb"]
    assert "NewImage" not in removal and "OldImage" not in removal
    assert json.dumps(event)  # plain JSON all through


def test_odd_arns_are_refused_or_name_a_plain_table() -> None:
    """Thousands of odd ARNs (seeded): each is a 400 or names proxy/schema.table/view that splits back."""
    odd = random.Random(15)
    alphabet = "ab_Z9./:\"';-$ \u202e\u00e9%\\"
    taken = 0
    for _ in range(3000):
        rest = "".join(odd.choice(alphabet) for _ in range(odd.randint(0, 30)))
        arn = odd.choice(["", PREFIX, "arn:aws:postgres:us-east-1:1:db-proxy/"]) + rest
        try:
            name = source_name(arn)
        except InvalidRequest as refused:
            assert refused.problems[0]["location"] == "/eventSourceArn"
            continue
        proxy, schema, table, view = split_name(name)
        assert Names.of("0a-1b", schema, table).shown == f"{schema}.{table}"
        assert proxy and view in VIEW_TYPES
        taken += 1
    assert taken > 0, "some odd ARNs are plain tables"
