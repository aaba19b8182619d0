"""Every blueprint, end to end: ``stepline functions init --blueprint NAME DIR`` writes it, the files
and blueprint.json become a function through /v1 (placeholders replaced by this deployment's DB proxy,
file system or activity), and it runs in a real sandbox doing what it says."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

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
