"""Function URLs: their configuration through unmodified boto3 (and /v1), and the URLs themselves
called with a real HTTP client (httpx) on the served port: Lambda's payload format 2.0 event (JSON,
binary bodies, query strings, cookies), the response mapped back (structured, or a bare JSON value),
413 over 6 MB, CORS preflight and headers, and AWS_IAM behind Stepline's gate."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.aws.server import ServerThread, own_settings
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

HTTP_APP = """import base64
import json


def handler(event, context):
    if event["rawPath"] == "/bare":
        return ["bare", 1]
    if event["rawPath"] == "/binary":
        data = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        return {
            "statusCode": 201, "isBase64Encoded": True, "body": base64.b64encode(data[::-1]).decode(),
            "headers": {"content-type": "application/octet-stream"}, "cookies": ["a=1; Path=/", "b=2"],
        }
    if event["rawPath"] == "/fail":
        raise ValueError("asked to fail")
    return {"statusCode": 200, "headers": {"x-seen": "yes"}, "body": json.dumps(event)}
"""
CORS = {
    "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-custom"],
    "ExposeHeaders": ["x-seen"], "MaxAge": 600,
}  # fmt: skip


@pytest.fixture(scope="module")
def url(lam: Any) -> tuple[str, str]:
    name = unique("http")
    create(lam, name, {"app.py": HTTP_APP})
    made = checked(lam, "CreateFunctionUrlConfig", FunctionName=name, AuthType="NONE", Cors=CORS)
    return name, made["FunctionUrl"]


def test_url_configuration_lifecycle(lam: Any, url: tuple[str, str], aws_url: str) -> None:
    name, address = url
    assert address.startswith(f"{aws_url}/lambda-url/") and address.endswith("/")
    got = checked(lam, "GetFunctionUrlConfig", FunctionName=name)
    assert (got["FunctionUrl"], got["AuthType"], got["InvokeMode"]) == (address, "NONE", "BUFFERED")
    assert got["Cors"] == CORS and got["FunctionArn"].endswith(f":function:{name}")
    duplicate = error_of(lam.create_function_url_config, FunctionName=name, AuthType="NONE")
    assert duplicate[:2] == ("ResourceConflictException", 409)
    updated = checked(lam, "UpdateFunctionUrlConfig", FunctionName=name, Cors={**CORS, "MaxAge": 60})
    assert updated["Cors"]["MaxAge"] == 60 and updated["AuthType"] == "NONE"
    listed = checked(lam, "ListFunctionUrlConfigs", FunctionName=name)["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [address]
    v1 = httpx.get(f"{aws_url}/v1/functions/{name}/url").json()
    assert v1["functionUrl"] == address and v1["cors"]["maxAge"] == 60
    lam.publish_version(FunctionName=name)
    version = error_of(lam.create_function_url_config, FunctionName=name, Qualifier="1", AuthType="NONE")
    assert version[:2] == ("ValidationException", 400)  # the model's Qualifier pattern excludes versions
    by_v1 = httpx.post(f"{aws_url}/v1/functions/{name}/url?qualifier=1", json={"authType": "NONE"})
    assert by_v1.status_code == 400 and "not a version" in by_v1.text
    missing = error_of(lam.get_function_url_config, FunctionName=name, Qualifier="nosuchalias")
    assert missing[:2] == ("ResourceNotFoundException", 404)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    alias_url = checked(lam, "CreateFunctionUrlConfig", FunctionName=name, Qualifier="live", AuthType="NONE")
    assert alias_url["FunctionArn"].endswith(f":function:{name}:live") and alias_url["FunctionUrl"] != address
    assert httpx.get(alias_url["FunctionUrl"] + "bare").json() == ["bare", 1]
    checked(lam, "DeleteFunctionUrlConfig", FunctionName=name, Qualifier="live")
    assert httpx.get(alias_url["FunctionUrl"] + "bare").status_code == 404
    assert error_of(lam.delete_function_url_config, FunctionName=name, Qualifier="live")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    lam.create_alias(FunctionName=name, Name="brief", FunctionVersion="1")
    brief = checked(lam, "CreateFunctionUrlConfig", FunctionName=name, Qualifier="brief", AuthType="NONE")
    assert httpx.get(brief["FunctionUrl"] + "bare").status_code == 200
    lam.delete_alias(FunctionName=name, Name="brief")  # its URL goes with it, as Lambda's
    assert httpx.get(brief["FunctionUrl"] + "bare").status_code == 404


def test_json_request_query_string_cookies_and_headers_reach_the_event(url: tuple[str, str]) -> None:
    _, address = url
    answer = httpx.post(
        address + "some/path?a=1&a=2&b=x%20y",
        json={"hello": "world"},
        headers={"x-custom": "v", "user-agent": "stepline-test", "cookie": "c1=v1; c2=v2"},
    )
    assert answer.status_code == 200 and answer.headers["x-seen"] == "yes"
    assert answer.headers["x-amzn-requestid"]
    event = answer.json()
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert (event["rawPath"], event["rawQueryString"]) == ("/some/path", "a=1&a=2&b=x%20y")
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["cookies"] == ["c1=v1", "c2=v2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "v" and event["headers"]["content-type"] == "application/json"
    assert (json.loads(event["body"]), event["isBase64Encoded"]) == ({"hello": "world"}, False)
    http = event["requestContext"]["http"]
    assert http == {"method": "POST", "path": "/some/path", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                    "userAgent": "stepline-test"}  # fmt: skip
    context = event["requestContext"]
    assert context["requestId"] == answer.headers["x-amzn-requestid"]
    assert context["domainName"].endswith(".on.aws") and isinstance(context["timeEpoch"], int)
    plain = httpx.get(address.rstrip("/")).json()
    assert plain["rawPath"] == "/" and "body" not in plain and "queryStringParameters" not in plain


def test_binary_bodies_cookies_and_bare_values(url: tuple[str, str]) -> None:
    _, address = url
    data = bytes(range(256)) * 4
    answer = httpx.put(address + "binary", content=data, headers={"content-type": "application/octet-stream"})
    assert answer.status_code == 201 and answer.content == data[::-1]
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2"]
    bare = httpx.get(address + "bare")
    assert (bare.status_code, bare.headers["content-type"], bare.json()) == (
        200,
        "application/json",
        ["bare", 1],
    )
    failed = httpx.get(address + "fail")
    assert failed.status_code == 502 and failed.json() == {"Message": "Internal Server Error"}
    assert httpx.get(address.replace("/lambda-url/", "/lambda-url/x")).status_code == 404


def test_over_6_mb_is_413(url: tuple[str, str]) -> None:
    _, address = url
    answer = httpx.post(address, content=b"x" * (6 * 1024 * 1024 + 1), headers={"content-type": "text/plain"})
    assert answer.status_code == 413


def test_cors_preflight_and_response_headers(url: tuple[str, str]) -> None:
    _, address = url
    preflight = httpx.options(
        address, headers={"origin": "https://app.example", "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "x-custom"
    assert preflight.headers["access-control-max-age"] in {"600", "60"}
    stranger = httpx.options(
        address, headers={"origin": "https://evil.example", "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in stranger.headers
    answer = httpx.get(address, headers={"origin": "https://app.example"})
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    assert answer.headers["access-control-expose-headers"] == "x-seen"
    assert (
        "access-control-allow-origin"
        not in httpx.get(address, headers={"origin": "https://evil.example"}).headers
    )


@pytest.fixture(scope="module")
def guarded_url(database_url: str, temporal_address: str) -> Iterator[str]:
    """An API with a bearer token (so that the gate refuses the unauthenticated)."""
    fields: dict[str, Any] = {"sandbox": {"spare_environments": 0}, "api": {"token": "s3cret-token"}}
    with (
        own_settings(database_url, temporal_address, "urls", **fields) as settings,
        ServerThread(settings) as served,
    ):
        yield served


def test_aws_iam_urls_take_what_the_gate_admits_and_none_urls_anyone(guarded_url: str) -> None:
    bearer = {"authorization": "Bearer s3cret-token"}
    with httpx.Client(base_url=guarded_url, headers=bearer) as api:
        name = unique("guarded")
        function = {
            "name": name,
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"files": {"app.py": HTTP_APP}},
        }
        api.post("/v1/functions", json=function).raise_for_status()
        iam = api.post(f"/v1/functions/{name}/url", json={"authType": "AWS_IAM"})
        assert iam.status_code == 201, iam.text
        address = iam.json()["functionUrl"]
    refused = httpx.get(address + "bare")
    assert refused.status_code == 403 and refused.json() == {"Message": "Forbidden"}
    assert httpx.get(address + "bare", headers={"authorization": "Bearer wrong"}).status_code == 403
    assert httpx.get(address + "bare", headers=bearer).json() == ["bare", 1]
    with httpx.Client(base_url=guarded_url, headers=bearer) as api:
        api.patch(f"/v1/functions/{name}/url", json={"authType": "NONE"}).raise_for_status()
    assert httpx.get(address + "bare").json() == ["bare", 1]
    host, port = guarded_url.removeprefix("http://").split(":")
    for sneaky in (
        "/lambda-url/x/../../v1/functions",
        "/lambda-url/..%2Fv1%2Ffunctions",
        "/lambda-url/../v1/functions",
    ):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", sneaky)  # sent as written: no client normalises it
        answer = connection.getresponse()
        assert answer.status == 404 and b"functions" not in answer.read(), sneaky  # never /v1's listing
        connection.close()
