"""Service integrations attacked from a state machine: reaching hosts the operator did not allow (by
URL, by scheme, through a redirect), reading connection or endpoint secrets through history or error
causes, exhausting the worker with a huge answer, using a connection that is not there."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done
from tests.integration.integrations.conftest import HttpServer
from tests.integration.integrations.test_http_task import any_connection

pytestmark = pytest.mark.usefixtures("integrations_worker")


async def run_task(
    api: httpx.AsyncClient, resource: str, parameters: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    state = {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
    machine = await create_machine(api, {"StartAt": "T", "States": {"T": state}})
    execution = (await start(api, machine))["executionId"]
    done = await wait_until_done(api, execution)
    return done, json.dumps(await all_history(api, execution))


async def test_a_redirect_to_the_metadata_address_is_not_followed(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    auth = await any_connection(api)
    parameters = {"ApiEndpoint": f"{http_server.url}/redirect", "Method": "GET", "Authentication": auth}
    done, _ = await run_task(api, "arn:aws:states:::http:invoke", parameters)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["StatusCode"] == 302
    assert [seen.path for seen in http_server.seen] == ["/redirect"]


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("file:///etc/passwd", "States.Runtime"),
        ("http://169.254.169.254/latest/meta-data/", "States.TaskFailed"),
        ("http://[::ffff:169.254.169.254]/", "States.TaskFailed"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "States.Runtime"),
    ],
    ids=["file", "metadata", "mapped-metadata", "gopher"],
)
async def test_endpoints_off_the_allow_list_or_not_http_are_refused(
    api: httpx.AsyncClient, endpoint: str, error: str
) -> None:
    parameters = {"ApiEndpoint": endpoint, "Method": "GET", "Authentication": await any_connection(api)}
    done, _ = await run_task(api, "arn:aws:states:::http:invoke", parameters)
    assert (done["status"], done["error"]) == ("FAILED", error)


async def test_a_huge_answer_fails_the_task_without_being_kept(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    auth = await any_connection(api)
    parameters = {"ApiEndpoint": f"{http_server.url}/big", "Method": "GET", "Authentication": auth}
    done, history = await run_task(api, "arn:aws:states:::http:invoke", parameters)
    assert (done["status"], done["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert len(history) < 100_000


async def test_connection_secrets_stay_out_of_failed_calls_too(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    body = {
        "name": unique("conn"),
        "authorizationType": "API_KEY",
        "authParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "never-shown-key"}},
    }
    arn = (await api.post("/v1/connections", json=body)).json()["connectionArn"]
    parameters = {
        "ApiEndpoint": f"{http_server.url}/missing",
        "Method": "GET",
        "Authentication": {"ConnectionArn": arn},
    }
    done, history = await run_task(api, "arn:aws:states:::http:invoke", parameters)
    assert done["error"] == "States.Http.StatusCode.404"
    assert http_server.seen[0].headers["x-key"] == "never-shown-key"
    assert "never-shown-key" not in history and "never-shown-key" not in json.dumps(done)


async def test_a_connection_that_does_not_exist_fails_the_task(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    arn = "arn:aws:events:us-east-1:000000000000:connection/nobody-made-this"
    parameters = {
        "ApiEndpoint": f"{http_server.url}/x",
        "Method": "GET",
        "Authentication": {"ConnectionArn": arn},
    }
    done, _ = await run_task(api, "arn:aws:states:::http:invoke", parameters)
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
    assert "nobody-made-this" in done["cause"] and http_server.seen == []


async def test_an_unreachable_endpoint_fails_fast_without_its_secret(api: httpx.AsyncClient) -> None:
    body = {
        "url": "http://127.0.0.1:1",
        "accessKeyId": "AKIDEXAMPLE",
        "secretAccessKey": "endpoint-secret-value",
    }
    assert (await api.put("/v1/service-endpoints/kinesis", json=body)).status_code == 200
    try:
        done, history = await run_task(api, "arn:aws:states:::aws-sdk:kinesis:listStreams", {})
    finally:
        await api.delete("/v1/service-endpoints/kinesis")
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
    assert "endpoint-secret-value" not in history and "endpoint-secret-value" not in done["cause"]


async def test_a_cookie_set_for_one_call_never_rides_on_the_next(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    auth = await any_connection(api)
    for path in ("/cookie", "/after"):
        parameters = {"ApiEndpoint": f"{http_server.url}{path}", "Method": "GET", "Authentication": auth}
        done, _ = await run_task(api, "arn:aws:states:::http:invoke", parameters)
        assert done["status"] == "SUCCEEDED", done
    assert [seen.path for seen in http_server.seen] == ["/cookie", "/after"]
    assert "Cookie" not in http_server.seen[1].headers
