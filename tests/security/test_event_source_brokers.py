"""Event source mappings as a hostile tenant uses them: a broker URI of its own aimed off the operator's
allow-list (another host, the metadata address, a userinfo trick, a scheme that is no broker's), queues
outside the operator's namespace, and a broker password that must never come back out (Get, List,
the mapping's last error, the worker's log)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlmodel import col, select

from api import event_source_mapping_schemas as schemas
from api.services import event_source_mappings as use_cases
from foundation.errors import InvalidRequest
from foundation.registry import event_source_mappings as registry
from foundation.registry.database import unit_of_work
from tests.integration.aws.conftest import aws_url
from tests.integration.aws.lambda_kit import checked, create, error_of, lam
from tests.integration.function_kit import deploy, fn_settings, requires_bwrap, service, unique
from workers.events.sources.runner import EventSources, source_invoker
from workers.functions.service import FunctionService

pytestmark = requires_bwrap
__all__ = ["aws_url", "fn_settings", "lam", "service"]
SECRET = "Pa55-w0rd-e5m"
MQ = "arn:aws:mq:us-east-1:123456789012:broker:rabbitmq"
REDIS = "arn:aws:redis:us-east-1:123456789012:stream/"


def v1_body(uri: str, arn: str = MQ, **extra: Any) -> dict[str, Any]:
    body = {
        "eventSourceArn": arn,
        "functionName": "nobody",
        "selfManagedEventSource": {"endpoints": {"BROKER_URL": [uri]}},
    }
    if arn == MQ:
        body["queues"] = ["orders"]
    return body | extra


@pytest.mark.parametrize(
    ("uri", "named"),
    [
        (f"amqp://guest:{SECRET}@10.1.2.3:5672/", "'10.1.2.3' is not allowed"),
        (f"amqp://guest:{SECRET}@169.254.169.254/", "'169.254.169.254' is not allowed"),
        (f"amqp://127.0.0.1:{SECRET}@evil.example/", "'evil.example' is not allowed"),
        (f"amqp://guest:{SECRET}@[::ffff:10.0.0.1]:5672/", "'::ffff:10.0.0.1' is not allowed"),
        (f"amqp://guest:{SECRET}@localhost.evil.example/", "'localhost.evil.example' is not allowed"),
        (f"redis://:{SECRET}@127.0.0.1:6379/0", "starts with amqp or amqps://, not redis://"),
        (f"http://guest:{SECRET}@127.0.0.1:15672/", "not http://"),
        ("file:///etc/passwd", "not file://"),
        (f"amqp://guest:{SECRET}@127.0.0.1:99999/", "cannot be parsed"),
        (f"amqp://guest:{SECRET} x@127.0.0.1/", "without spaces"),
        (f"amqp://guest:{SECRET}@/", "names no host"),
    ],
    ids=["private", "metadata", "userinfo-trick", "mapped-v6", "suffix-trick", "scheme", "http", "file",
         "port", "space", "no-host"],
)  # fmt: skip
async def test_a_broker_off_the_allow_list_is_refused_naming_the_host_never_the_secret(
    api: httpx.AsyncClient, uri: str, named: str
) -> None:
    answer = await api.post("/v1/event-source-mappings", json=v1_body(uri))
    assert answer.status_code == 400, answer.text
    assert named in answer.text
    assert SECRET not in answer.text
    assert answer.json()["errors"][0]["location"] == "/selfManagedEventSource/endpoints/BROKER_URL"


async def test_a_file_system_source_takes_no_broker_and_endpoints_hold_one_uri(
    api: httpx.AsyncClient,
) -> None:
    answer = await api.post(
        "/v1/event-source-mappings", json=v1_body(f"amqp://u:{SECRET}@127.0.0.1/", "arn:aws:s3:::nofs")
    )
    assert (
        answer.status_code == 400
        and "SelfManagedEventSource is for" in answer.text
        and SECRET not in answer.text
    )
    two = v1_body("amqp://127.0.0.1/")
    two["selfManagedEventSource"]["endpoints"]["BROKER_URL"].append(f"amqp://u:{SECRET}@127.0.0.1/")
    answer = await api.post("/v1/event-source-mappings", json=two)
    assert answer.status_code == 400 and SECRET not in answer.text


async def test_queues_outside_the_operators_names_are_refused(service: FunctionService) -> None:
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    events = service.settings.event_sources.model_copy(update={"source_names": ["app-*"]})
    settings = service.settings.model_copy(update={"event_sources": events})
    for arn, queues in ((MQ, ["internal-billing"]), (REDIS + "stepline-internal", None)):
        body = schemas.MappingIn.model_validate(
            {
                "eventSourceArn": arn,
                "functionName": name,
                "queues": queues,
                "startingPosition": None if queues else "LATEST",
            }
        )
        with pytest.raises(InvalidRequest, match="SOURCE_NAMES"):
            async with unit_of_work(service.sessions) as session:
                await use_cases.create_mapping(session, body, "us-east-1", settings)
    body = schemas.MappingIn.model_validate(
        {"eventSourceArn": MQ, "functionName": name, "queues": ["app-orders"]}
    )
    async with unit_of_work(service.sessions) as session:
        made = await use_cases.create_mapping(session, body, "us-east-1", settings)
        await use_cases.delete_mapping(session, made.uuid, "us-east-1")


def test_the_password_of_an_allowed_broker_never_comes_back_out(aws_url: str, lam: Any) -> None:
    """Made through /v1 on loopback, shown without its password, query or fragment by /v1 and by
    unmodified boto3's Get and List; on the AWS endpoint, where Lambda's model takes only Kafka's
    host:port, a URI is a ValidationException that does not echo it."""
    name = unique("esm")
    create(lam, name)
    uri = f"redis://stepline:{SECRET}@127.0.0.1:6379/0?ssl_password={SECRET}#{SECRET}"
    made = httpx.post(
        f"{aws_url}/v1/event-source-mappings",
        json=v1_body(uri, REDIS + unique("s"), functionName=name, startingPosition="LATEST"),
    )
    assert made.status_code == 202, made.text
    assert made.json()["selfManagedEventSource"] == {
        "endpoints": {"BROKER_URL": ["redis://stepline@127.0.0.1:6379/0"]}
    }
    mapping = made.json()["uuid"]
    got = checked(lam, "GetEventSourceMapping", UUID=mapping)
    assert got["SelfManagedEventSource"] == {
        "Endpoints": {"BROKER_URL": ["redis://stepline@127.0.0.1:6379/0"]}
    }
    listed = checked(lam, "ListEventSourceMappings", FunctionName=name)
    shown = httpx.get(f"{aws_url}/v1/event-source-mappings", params={"functionName": name}).text
    for answer in (made.text, json.dumps(got, default=str), json.dumps(listed, default=str), shown):
        assert SECRET not in answer
    code, status, message = error_of(
        lam.create_event_source_mapping, EventSourceArn=REDIS + unique("s"), FunctionName=name,
        StartingPosition="LATEST", SelfManagedEventSource={"Endpoints": {"BROKER_URL": [f"redis://:{SECRET}@10.9.8.7/0"]}},
    )  # fmt: skip
    assert (code, status) == ("ValidationException", 400)
    assert SECRET not in message
    checked(lam, "DeleteEventSourceMapping", UUID=mapping)


async def _last_error(service: FunctionService, uuid_: str) -> str | None:
    async with unit_of_work(service.sessions) as session:
        return (await registry.get_mapping(session, uuid_)).last_error


async def test_a_brokers_password_stays_out_of_errors_and_logs_and_a_narrowed_list_holds(
    service: FunctionService, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong password on the local RabbitMQ and Redis: the worker's failure is recorded and logged
    without it; the row holds it sealed only. Then the operator empties the allow-list: the worker
    refuses to dial a mapping made before."""
    caplog.set_level(logging.DEBUG)
    name = await deploy(service, unique("esm"), {"app.py": "def handler(event, context):\n    return {}\n"})
    made = []
    for arn, uri, queues in (
        (MQ, f"amqp://guest:{SECRET}@127.0.0.1:5672/", ["q-" + uuid.uuid4().hex[:8]]),
        (REDIS + unique("s"), f"redis://default:{SECRET}@127.0.0.1:6379/0", None),
    ):
        body = schemas.MappingIn.model_validate({
            "eventSourceArn": arn, "functionName": name, "queues": queues,
            "startingPosition": None if queues else "LATEST",
            "selfManagedEventSource": {"endpoints": {"BROKER_URL": [uri]}},
        })  # fmt: skip
        async with unit_of_work(service.sessions) as session:
            made.append(await use_cases.create_mapping(session, body, "us-east-1", service.settings))
    events = service.settings.event_sources.model_copy(update={"scan_seconds": 0.2, "lease_seconds": 2.0})
    settings = service.settings.model_copy(update={"event_sources": events})
    async with EventSources(
        settings, service.sessions, source_invoker(service), metrics_registry=CollectorRegistry()
    ):
        deadline = time.monotonic() + 30
        while not await _last_error(service, made[0].uuid):  # Redis's default user takes any password
            assert time.monotonic() < deadline, "no error recorded"
            await asyncio.sleep(0.2)
    errors = [await _last_error(service, m.uuid) or "" for m in made]
    assert "ACCESS_REFUSED" in errors[0] and all(SECRET not in e for e in errors), errors
    assert SECRET not in caplog.text
    async with unit_of_work(service.sessions) as session:
        rows = (await session.exec(select(registry.EventSourceMapping).where(
            col(registry.EventSourceMapping.uuid).in_([m.uuid for m in made])))).all()  # fmt: skip
        shown = [await use_cases.get_mapping(session, m.uuid, "us-east-1") for m in made]
    for row in rows:
        assert (
            row.broker_sealed and SECRET not in row.broker_sealed and SECRET not in (row.broker_summary or "")
        )
    assert all(SECRET not in s.model_dump_json() for s in shown)
    narrowed = events.model_copy(update={"allowed_hosts": []})
    async with EventSources(
        settings.model_copy(update={"event_sources": narrowed}), service.sessions, source_invoker(service),
        metrics_registry=CollectorRegistry(),
    ):  # fmt: skip
        deadline = time.monotonic() + 30
        while "is not allowed" not in (await _last_error(service, made[0].uuid) or ""):
            assert time.monotonic() < deadline, "the narrowed list was not applied"
            await asyncio.sleep(0.2)
    async with unit_of_work(service.sessions) as session:
        for m in made:
            await use_cases.delete_mapping(session, m.uuid, "us-east-1")
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    await client.delete(made[1].event_source_arn.rpartition("/")[2])
    await client.aclose()


ODD_BROKERS: list[Any] = [
    None, [], {}, "amqp://127.0.0.1/", {"endpoints": {}}, {"endpoints": {"BROKER_URL": []}},
    {"endpoints": {"BROKER_URL": [None]}}, {"endpoints": {"BROKER_URL": ["a" * 5000]}},
    {"endpoints": {"BROKER_URL": ["amqp://[::1/"]}}, {"endpoints": {"BROKER_URL": ["amqp://%zz@127.0.0.1/"]}},
    {"endpoints": {"x" * 1000: ["amqp://127.0.0.1/"]}}, {"endpoints": {"BROKER_URL": ["amqp://[fe80::1%25eth0]/"]}},
    {"endpoints": {"BROKER_URL": ["amqp://127.0.0.1/"], "OTHER": ["amqp://127.0.0.1/"]}},
    {"endpoints": {"BROKER_URL": ["amqp://\u202e127.0.0.1/"]}}, {"endpoints": {"BROKER_URL": ["amqp://127.0.0.1:-1/"]}},
]  # fmt: skip
ODD_ARNS = [
    "arn:aws:s3:::" + "a" * 2000, "arn:aws:s3:::fs/\u202e", "arn:aws:s3:::fs/" + "*" * 1000,
    "arn:aws:s3:::fs/../../etc", "arn:aws:s3:::fs/%2e%2e/", "arn:aws:s3:::fs\\..\\x", "arn:aws:s3:::/",
]  # fmt: skip


async def test_odd_brokers_and_file_system_arns_are_4xx_never_5xx(api: httpx.AsyncClient) -> None:
    answers = [
        await api.post(
            "/v1/event-source-mappings", json=v1_body("amqp://127.0.0.1/") | {"selfManagedEventSource": odd}
        )
        for odd in ODD_BROKERS
    ] + [
        await api.post("/v1/event-source-mappings", json={"eventSourceArn": arn, "functionName": "nobody"})
        for arn in ODD_ARNS
    ]
    assert [a.status_code for a in answers if not 400 <= a.status_code < 500] == []
