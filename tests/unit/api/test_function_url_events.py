"""Function URLs' event (payload format 2.0), response mapping and CORS, table-tested."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api.function_url_schemas import Cors
from api.services.function_url_events import (
    UrlRequest,
    function_url_event,
    preflight,
    url_response,
    with_cors,
)


def _event(**changes: Any) -> dict[str, Any]:
    request = UrlRequest(
        **(
            {
                "method": "GET",
                "path": "/",
                "raw_query": "",
                "headers": [],
                "body": b"",
                "source_ip": "10.0.0.1",
            }
            | changes
        )
    )
    return function_url_event(request, "abc", "req-1", "000000000000", "us-east-1", now=1700000000.5)


def test_headers_cookies_and_query_strings_as_lambda_shapes_them() -> None:
    event = _event(
        raw_query="a=1&a=2&b=",
        headers=[("X-Many", "1"), ("x-many", "2"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua")],
    )
    assert event["headers"] == {"x-many": "1,2", "user-agent": "ua"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    context = event["requestContext"]
    assert context["http"] == {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1",
                               "userAgent": "ua"}  # fmt: skip
    assert (context["time"], context["timeEpoch"]) == ("14/Nov/2023:22:13:20 +0000", 1700000000500)
    assert context["domainName"] == "abc.lambda-url.us-east-1.on.aws"
    assert "body" not in event and event["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json", b'{"a":1}', False),
        ("text/plain; charset=utf-8", "héllo".encode(), False),
        ("application/vnd.api+json", b"{}", False),
        ("application/octet-stream", b"\x00\xff", True),
        ("text/plain", b"\xff\xfe", True),
        ("", b"abc", True),
    ],
    ids=["json", "text", "suffix-json", "binary", "text-not-utf8", "no-type"],
)
def test_bodies_are_text_or_base64(content_type: str, body: bytes, encoded: bool) -> None:
    event = _event(method="POST", headers=[("content-type", content_type)], body=body)
    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == body


JSON = ("content-type", "application/json")
BAD = b'{"Message":"Internal Server Error"}'


@pytest.mark.parametrize(
    ("payload", "status", "headers", "body"),
    [
        (b'{"statusCode": 201, "body": "hi", "headers": {"X-A": "b"}}', 201, [("x-a", "b"), JSON], b"hi"),
        (b'{"statusCode": 200, "body": "AAE=", "isBase64Encoded": true, "headers": {"content-type": "x/y"}}',
         200, [("content-type", "x/y")], b"\x00\x01"),
        (b'{"statusCode": 204, "cookies": ["a=1", "b=2"]}', 204,
         [("set-cookie", "a=1"), ("set-cookie", "b=2")], b""),
        (b'["bare", 1]', 200, [JSON], b'["bare", 1]'),
        (b'{"no": "statusCode"}', 200, [JSON], b'{"no": "statusCode"}'),
        (b'{"statusCode": 99}', 502, [JSON], BAD),
        (b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}', 502,
         [JSON], BAD),
    ],
    ids=["structured", "base64", "cookies", "bare-list", "object-without-status", "bad-status", "bad-base64"],
)  # fmt: skip
def test_responses_map_as_lambda_infers(
    payload: bytes, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    response = url_response(payload)
    assert (response.status, response.headers, response.body) == (status, headers, body)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-a": "1\r\nset-cookie: stolen=1"},
        {"x-a": "\n"},
        {"bad name": "1"},
        {"x-a": "caf\u00e9\u2603"},
        ["x-a"],
    ],
    ids=["crlf-splitting", "newline", "name-not-a-token", "not-latin-1", "not-an-object"],
)
def test_headers_that_would_split_or_break_the_response_are_a_502(headers: Any) -> None:
    payload = json.dumps({"statusCode": 200, "headers": headers, "body": "x"}).encode()
    assert url_response(payload).status == 502


CORS = Cors(allow_origins=["https://a.example"], allow_methods=["GET"], allow_headers=["x-h"], max_age=5)


def test_preflight_answers_allowed_origins_and_methods_only() -> None:
    allowed = preflight(CORS, {"origin": "https://a.example", "access-control-request-method": "GET"})
    assert dict(allowed.headers) == {
        "access-control-allow-origin": "https://a.example", "access-control-allow-methods": "GET",
        "access-control-allow-headers": "x-h", "access-control-max-age": "5", "vary": "Origin",
    }  # fmt: skip
    assert (
        preflight(CORS, {"origin": "https://b.example", "access-control-request-method": "GET"}).headers == []
    )
    assert (
        preflight(CORS, {"origin": "https://a.example", "access-control-request-method": "PUT"}).headers == []
    )
    anyone = Cors(allow_origins=["*"], allow_methods=["*"])
    answer = preflight(anyone, {"origin": "https://z.example", "access-control-request-method": "DELETE"})
    assert dict(answer.headers)["access-control-allow-origin"] == "*"


def test_the_urls_cors_headers_replace_the_functions() -> None:
    response = url_response(
        json.dumps({"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}}).encode()
    )
    assert dict(with_cors(response, CORS, "https://b.example").headers) == {}
    again = url_response(json.dumps({"statusCode": 200}).encode())
    assert dict(with_cors(again, CORS, "https://a.example").headers)["access-control-allow-origin"] == (
        "https://a.example"
    )
