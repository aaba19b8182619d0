"""Every blueprint, end to end: ``stepline functions init --blueprint NAME DIR`` writes it, the files
and blueprint.json become a function through /v1 (placeholders replaced by this deployment's DB proxy,
file system or activity), and it runs in a real sandbox doing what it says."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from typer.testing import CliRunner

from foundation.settings import Settings
from shell.cli import app
from tests.integration.aws.callback_kit import served
from tests.integration.aws.lambda_kit import lam, unique
from tests.integration.dbproxy.test_wire import ADMIN_URL
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam", "served"]
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="module")
def aws_url(served: tuple[str, Settings]) -> str:
    """The API on the port its settings name: the callback worker's boto3 calls find it."""
    return served[0]


def deploy(aws_url: str, blueprint: str, directory: Path, **placeholders: str) -> tuple[str, dict[str, Any]]:
    """Init ``blueprint`` into ``directory`` with the CLI, then create the function it describes (and
    its URL); returns (function name, blueprint.json with the placeholders replaced)."""
    result = CliRunner().invoke(app, ["functions", "init", "--blueprint", blueprint, str(directory)])
    assert result.exit_code == 0, result.output
    manifest_text = (directory / "blueprint.json").read_text()
    for placeholder, value in placeholders.items():
        manifest_text = manifest_text.replace(placeholder, value)
    manifest = json.loads(manifest_text)
    files = {p.name: p.read_text() for p in directory.iterdir() if p.name != "blueprint.json"}
    assert sorted(Path(p).name for p in result.output.split()) == sorted([*files, "blueprint.json"]) and files
    name = unique(blueprint)
    body = {
        "name": name, "runtime": manifest["runtime"], "handler": manifest["handler"],
        "code": {"files": files}, **manifest.get("settings", {}),
    }  # fmt: skip
    created = httpx.post(f"{aws_url}/v1/functions", json=body)
    assert created.status_code == 201, created.text
    if manifest.get("url"):
        made = httpx.post(f"{aws_url}/v1/functions/{name}/url", json=manifest["url"])
        assert made.status_code == 201, made.text
        manifest["functionUrl"] = made.json()["functionUrl"]
    return name, manifest


def invoke(lam: Any, name: str, event: Any) -> Any:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event))
    payload = answer["Payload"].read()
    assert "FunctionError" not in answer, payload
    return json.loads(payload)


def test_the_listing_names_every_blueprint_and_init_refuses_to_overwrite(
    aws_url: str, tmp_path: Path
) -> None:
    listed = httpx.get(f"{aws_url}/v1/blueprints").json()["blueprints"]
    assert {b["name"] for b in listed} >= {
        "python-hello", "nodejs-hello", "http-api", "db-query", "file-processor", "sfn-callback-worker",
        "event-source-consumer",
    }  # fmt: skip
    one = httpx.get(f"{aws_url}/v1/blueprints/python-hello").json()
    assert "def handler" in one["files"]["app.py"] and one["fileNames"] == ["app.py"]
    assert httpx.get(f"{aws_url}/v1/blueprints/nope").status_code == 404
    runner = CliRunner()
    assert (
        runner.invoke(app, ["functions", "init", "--blueprint", "python-hello", str(tmp_path)]).exit_code == 0
    )
    again = runner.invoke(app, ["functions", "init", "--blueprint", "python-hello", str(tmp_path)])
    assert again.exit_code == 1 and "not overwriting" in again.output
    unknown = runner.invoke(app, ["functions", "init", "--blueprint", "nope", str(tmp_path / "x")])
    assert unknown.exit_code == 1 and not (tmp_path / "x").exists()


@pytest.mark.parametrize("blueprint", ["python-hello", "nodejs-hello"])
def test_hello_blueprints_greet(blueprint: str, aws_url: str, lam: Any, tmp_path: Path) -> None:
    name, manifest = deploy(aws_url, blueprint, tmp_path)
    assert invoke(lam, name, manifest["sampleEvent"]) == {"message": "Hello, Stepline!"}


def test_http_api_answers_behind_its_function_url(aws_url: str, lam: Any, tmp_path: Path) -> None:
    _, manifest = deploy(aws_url, "http-api", tmp_path)
    url = manifest["functionUrl"]
    assert httpx.get(url + "hello", params={"name": "Ada"}).json() == {"message": "Hello, Ada!"}
    echoed = httpx.post(url + "echo", json={"n": [1, 2]})
    assert echoed.json() == {"method": "POST", "path": "/echo", "body": {"n": [1, 2]}}
    assert (
        httpx.post(url + "echo", content=b"not json", headers={"content-type": "text/plain"}).status_code
        == 400
    )
    assert httpx.delete(url + "hello").status_code == 404


def test_db_query_reads_through_the_db_proxy(aws_url: str, lam: Any, tmp_path: Path) -> None:
    proxy = unique("bp-proxy")
    made = httpx.post(f"{aws_url}/v1/db-proxies", json={"name": proxy, "targetUrl": ADMIN_URL, "poolSize": 2})
    assert made.status_code == 201, made.text
    name, manifest = deploy(aws_url, "db-query", tmp_path, DB_PROXY=proxy)
    row = invoke(lam, name, manifest["sampleEvent"])
    assert (row["greeting"], row["database"]) == ("hello", ADMIN_URL.rsplit("/", 1)[1]) and row["at"]


def test_file_processor_summarises_what_was_dropped(aws_url: str, lam: Any, tmp_path: Path) -> None:
    file_system = unique("bp-fs")
    assert httpx.post(f"{aws_url}/v1/file-systems", json={"name": file_system}).status_code == 201
    name, manifest = deploy(aws_url, "file-processor", tmp_path, FILE_SYSTEM=file_system)
    first = invoke(lam, name, manifest["sampleEvent"])
    assert first == {"processed": {"notes.txt": {"lines": 2, "words": 5, "bytes": 24}}}
    assert invoke(lam, name, {}) == {"processed": {}}  # taken out of incoming: the file system kept that


def test_sfn_callback_worker_answers_an_activity_task(
    aws_url: str, lam: Any, sfn: Any, tmp_path: Path
) -> None:
    activity = sfn.create_activity(name=unique("bp-activity"))["activityArn"]
    machine = sfn.create_state_machine(
        name=unique("bp-machine"),
        definition=json.dumps(
            {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": True}}}
        ),
        roleArn="arn:aws:iam::000000000000:role/r",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"name": "Ada"}))[
        "executionArn"
    ]
    name, manifest = deploy(aws_url, "sfn-callback-worker", tmp_path, ACTIVITY=activity.rsplit(":", 1)[1])
    assert manifest["sampleEvent"]["activityArn"] == activity
    assert invoke(lam, name, manifest["sampleEvent"]) == {"handled": True, "succeeded": True}
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {
        "greeting": "Hello, Ada!"
    }


DEAD_LETTERS = """import json


def handler(event, context):
    for record in event["requestPayload"]["Records"]:
        print("dead letter", json.dumps(record["body"]), event["requestContext"]["condition"])
    return {}
"""


def logged(aws_url: str, name: str, prefix: str) -> list[str]:
    events = httpx.get(f"{aws_url}/v1/functions/{name}/logs").json()["events"]
    return [e["message"].strip() for e in events if e["message"].startswith(prefix)]


async def _queue(action: str, queue: str, bodies: list[str] = []) -> int:  # noqa: B006
    """Declare, publish to, count or delete ``queue`` on this machine's RabbitMQ."""
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=False, passive=action == "count")
        for text in bodies:
            await channel.default_exchange.publish(aio_pika.Message(text.encode()), routing_key=queue)
        if action == "delete":
            await channel.queue_delete(queue)
        return int(declared.declaration_result.message_count or 0)


def test_event_source_consumer_processes_a_queue_and_reports_the_poison(
    aws_url: str, lam: Any, tmp_path: Path
) -> None:
    queue = unique("bp-orders")
    asyncio.run(_queue("declare", queue))
    name, manifest = deploy(aws_url, "event-source-consumer", tmp_path, QUEUE=queue, BROKER="rabbitmq")
    assert invoke(lam, name, manifest["sampleEvent"]) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    dead_letters = unique("bp-dead-letters")
    body = {"name": dead_letters, "runtime": "python3.11", "handler": "app.handler",
            "code": {"files": {"app.py": DEAD_LETTERS}}}  # fmt: skip
    made = httpx.post(f"{aws_url}/v1/functions", json=body)
    assert made.status_code == 201, made.text
    on_failure = {"onFailure": {"destination": made.json()["functionArn"]}}
    mapping = httpx.post(
        f"{aws_url}/v1/event-source-mappings",
        json=manifest["eventSourceMapping"] | {"functionName": name, "destinationConfig": on_failure},
    )
    assert mapping.status_code == 202, mapping.text
    orders = [json.dumps({"orderId": f"Q-{i}", "quantity": i + 1, "unitPrice": 2.5}) for i in range(6)]
    poison = ["not an order", json.dumps({"orderId": "B-1", "quantity": -1, "unitPrice": 1})]
    asyncio.run(_queue("publish", queue, [*orders[:3], poison[0], *orders[3:], poison[1]]))
    deadline = time.monotonic() + 60
    while (
        len(logged(aws_url, dead_letters, "dead letter")) < 2
        or len(logged(aws_url, name, "processed Q-")) < 6
    ):
        assert time.monotonic() < deadline, (logged(aws_url, name, ""), logged(aws_url, dead_letters, ""))
        time.sleep(0.3)
    assert sorted(logged(aws_url, name, "processed Q-")) == [
        f"processed Q-{i} total {(i + 1) * 2.5}" for i in range(6)
    ]
    assert sorted(logged(aws_url, dead_letters, "dead letter")) == sorted(
        f"dead letter {json.dumps(p)} RetryAttemptsExhausted" for p in poison
    )
    assert (
        len(logged(aws_url, name, "failed")) == 3
    )  # the sample's and each poison once, reported once, the good ones never retried
    assert asyncio.run(_queue("count", queue)) == 0
    assert httpx.delete(f"{aws_url}/v1/event-source-mappings/{mapping.json()['uuid']}").status_code < 300
    asyncio.run(_queue("delete", queue))
