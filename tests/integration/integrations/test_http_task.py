"""HTTP Tasks end to end through executions on Temporal, against an HTTP server on loopback: each
connection type's credentials reach the server and never the history; HTTP errors become
States.Http.StatusCode.NNN; hosts outside the allow-list are refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done
from tests.integration.integrations.conftest import HttpServer

pytestmark = pytest.mark.usefixtures("integrations_worker")

HTTP_INVOKE = "arn:aws:states:::http:invoke"


async def connection(api: httpx.AsyncClient, kind: str, parameters: dict[str, Any]) -> str:
    body = {"name": unique("conn"), "authorizationType": kind, "authParameters": parameters}
    response = await api.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    arn: str = response.json()["connectionArn"]
    return arn


async def any_connection(api: httpx.AsyncClient) -> dict[str, str]:
    """``Authentication`` naming a fresh API-key connection (every HTTP Task must name one)."""
    arn = await connection(
        api, "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "x-k", "ApiKeyValue": "v"}}
    )
    return {"ConnectionArn": arn}


def machine_calling(parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": HTTP_INVOKE, "Parameters": parameters, "End": True, **extra}
    return {"StartAt": "Call", "States": {"Call": state}}


async def run(api: httpx.AsyncClient, definition: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    machine = await create_machine(api, definition)
    execution = await start(api, machine, {"id": 7})
    done = await wait_until_done(api, execution["executionId"])
    return done, await all_history(api, execution["executionId"])


@pytest.mark.parametrize(
    ("kind", "parameters", "header", "expected", "secret"),
    [
        (
            "API_KEY",
            {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-s3cret"}},
            "x-api-key",
            "key-s3cret",
            "key-s3cret",
        ),
        (
            "BASIC",
            {"BasicAuthParameters": {"Username": "ada", "Password": "pw-s3cret"}},
            "Authorization",
            "Basic YWRhOnB3LXMzY3JldA==",
            "pw-s3cret",
        ),
    ],
    ids=["api-key", "basic"],
)
async def test_connection_credentials_reach_the_server_and_not_the_history(
    api: httpx.AsyncClient,
    http_server: HttpServer,
    kind: str,
    parameters: dict[str, Any],
    header: str,
    expected: str,
    secret: str,
) -> None:
    arn = await connection(api, kind, parameters)
    definition = machine_calling(
        {
            "ApiEndpoint": f"{http_server.url}/orders",
            "Method": "POST",
            "Authentication": {"ConnectionArn": arn},
            "Headers": {"x-trace": "t1"},
            "QueryParameters": {"page": "2"},
            "RequestBody": {"id.$": "$.id"},
        }
    )
    done, history = await run(api, definition)
    assert done["status"] == "SUCCEEDED", done
    [seen] = http_server.seen
    assert (seen.method, seen.path, json.loads(seen.body)) == ("POST", "/orders?page=2", {"id": 7})
    assert seen.headers[header] == expected and seen.headers["x-trace"] == "t1"
    assert done["output"]["StatusCode"] == 200 and done["output"]["ResponseBody"]["ok"] is True
    assert secret not in json.dumps(history) and secret not in json.dumps(done)
    described = await api.get(f"/v1/connections/{arn.rsplit('/', 1)[1]}")
    assert described.status_code == 200 and secret not in described.text


async def test_oauth_client_credentials_fetch_a_token_and_send_it(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    oauth = {
        "AuthorizationEndpoint": f"{http_server.url}/token",
        "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "client-id", "ClientSecret": "client-secret"},
    }
    arn = await connection(api, "OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": oauth})
    parameters = {
        "ApiEndpoint": f"{http_server.url}/form",
        "Method": "PUT",
        "Authentication": {"ConnectionArn": arn},
        "RequestBody": {"ids": [1, 2]},
        "Transform": {
            "RequestBodyEncoding": "URL_ENCODED",
            "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"},
        },
    }
    done, history = await run(api, machine_calling(parameters))
    assert done["status"] == "SUCCEEDED", done
    token_request, call = http_server.seen
    assert token_request.path == "/token" and token_request.body == "grant_type=client_credentials"
    assert call.headers["Authorization"] == "Bearer token-from-oauth-1"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.body == "ids%5B%5D=1&ids%5B%5D=2"
    assert "client-secret" not in json.dumps(history) and "token-from-oauth" not in json.dumps(history)


async def test_an_oauth_token_the_api_refuses_is_renewed_once(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    oauth = {
        "AuthorizationEndpoint": f"{http_server.url}/token",
        "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "client-id", "ClientSecret": "client-secret"},
    }
    arn = await connection(api, "OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": oauth})
    parameters = {
        "ApiEndpoint": f"{http_server.url}/only-fresh",
        "Method": "GET",
        "Authentication": {"ConnectionArn": arn},
    }
    done, _ = await run(api, machine_calling(parameters))
    assert done["status"] == "SUCCEEDED", done
    assert [seen.path for seen in http_server.seen] == ["/token", "/only-fresh", "/token", "/only-fresh"]


async def test_a_connections_invocation_parameters_join_the_request_and_win(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    invocation = {
        "HeaderParameters": [{"Key": "x-tenant", "Value": "t1"}],
        "QueryStringParameters": [{"Key": "sig", "Value": "qs-s3cret", "IsValueSecret": True}],
        "BodyParameters": [{"Key": "extra", "Value": "b"}],
    }
    key = {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}
    arn = await connection(
        api, "API_KEY", {"ApiKeyAuthParameters": key, "InvocationHttpParameters": invocation}
    )
    parameters = {
        "ApiEndpoint": f"{http_server.url}/merge",
        "Method": "POST",
        "Authentication": {"ConnectionArn": arn},
        "Headers": {"x-tenant": "someone-else"},
        "RequestBody": {"id": 7},
    }
    done, history = await run(api, machine_calling(parameters))
    assert done["status"] == "SUCCEEDED", done
    [seen] = http_server.seen
    assert seen.path == "/merge?sig=qs-s3cret" and seen.headers["x-tenant"] == "t1"
    assert json.loads(seen.body) == {"id": 7, "extra": "b"}
    scheduled = [e for e in history if e["type"] in ("TaskScheduled", "TaskStarted")]
    assert scheduled and "qs-s3cret" not in json.dumps(scheduled)  # the server's own echo is its business
    described = (await api.get(f"/v1/connections/{arn.rsplit('/', 1)[1]}")).json()
    assert described["authParameters"]["InvocationHttpParameters"]["QueryStringParameters"] == [
        {"Key": "sig", "IsValueSecret": True}
    ]


async def test_an_http_error_is_states_http_status_code(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    auth = await any_connection(api)
    parameters = {"ApiEndpoint": f"{http_server.url}/missing", "Method": "GET", "Authentication": auth}
    catch = [{"ErrorEquals": ["States.Http.StatusCode.404"], "Next": "Caught"}]
    definition = machine_calling(parameters, Catch=catch)
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    del definition["States"]["Call"]["End"]
    definition["States"]["Call"]["Next"] = "Caught"
    done, _ = await run(api, definition)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["Error"] == "States.Http.StatusCode.404"
    assert json.loads(done["output"]["Cause"])["ResponseBody"] == {"message": "no such thing"}


async def test_a_host_outside_the_allow_list_is_refused(
    api: httpx.AsyncClient, http_server: HttpServer
) -> None:
    auth = await any_connection(api)
    parameters = {"ApiEndpoint": "http://10.1.2.3:9/x", "Method": "GET", "Authentication": auth}
    done, _ = await run(api, machine_calling(parameters))
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
    assert "STEPLINE_INTEGRATIONS__HTTP_ALLOWED_HOSTS" in done["cause"] and "10.1.2.3" in done["cause"]
    assert http_server.seen == []


async def test_connections_refuse_bad_parameters_naming_them(api: httpx.AsyncClient) -> None:
    body = {
        "name": unique("c"),
        "authorizationType": "API_KEY",
        "authParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k"}},
    }
    response = await api.post("/v1/connections", json=body)
    assert response.status_code == 400
    assert "ApiKeyAuthParameters.ApiKeyValue" in response.text
