"""Lambda requests find their operation from the model alone, with URI labels decoded from the raw path,
and function references read as Lambda reads them."""

from __future__ import annotations

import re

import pytest

from api.aws import lambda_routing
from api.aws.errors import AwsError
from api.aws.lambda_config import function_ref
from api.aws.lambda_wire import parse_request, plan
from api.aws.models import service_model

ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn:7"
ENCODED = ARN.replace(":", "%3A")


def _request(operation: str) -> tuple[str, bytes, dict[str, str]]:
    http = service_model("lambda").operation_model(operation).http
    path, _, query = http["requestUri"].partition("?")
    raw = re.sub(r"\{[^}]+\}", ENCODED, path)
    return http["method"], raw.encode(), dict(p.split("=") for p in query.split("&") if p)


@pytest.mark.parametrize("operation", service_model("lambda").operation_names)
def test_every_operation_of_the_model_routes_to_itself(operation: str) -> None:
    method, raw, query = _request(operation)
    found = lambda_routing.match(method, raw, query)
    assert found is not None and found.operation == operation
    assert all(value == ARN for value in found.labels.values())


def test_a_literal_query_tells_operations_on_one_path_apart() -> None:
    path = b"/2019-09-30/functions/f/provisioned-concurrency"
    listed = lambda_routing.match("GET", path, {"List": "ALL"})
    got = lambda_routing.match("GET", path, {"Qualifier": "1"})
    assert listed is not None and listed.operation == "ListProvisionedConcurrencyConfigs"
    assert got is not None and got.operation == "GetProvisionedConcurrencyConfig"


def test_an_encoded_slash_stays_in_its_label_and_unknown_paths_match_nothing() -> None:
    found = lambda_routing.match("GET", b"/2017-03-31/tags/a%2Fb", {})
    assert found is not None and found.labels == {"Resource": "a/b"}
    assert lambda_routing.match("GET", b"/2015-03-31/functions/a/b/c", {}) is None
    assert lambda_routing.match("PATCH", b"/2015-03-31/functions/f", {}) is None
    with pytest.raises(UnicodeDecodeError):
        lambda_routing.match("GET", b"/2015-03-31/functions/%FF", {})


def test_members_come_from_where_the_model_puts_them() -> None:
    p = plan("Invoke")
    params = parse_request(
        p, {"FunctionName": "f"}, {"Qualifier": ["3"]},
        {"x-amz-invocation-type": "Event", "x-amz-log-type": "Tail"}, b'{"raw": true}',
    )  # fmt: skip
    assert params == {
        "FunctionName": "f", "Qualifier": "3", "InvocationType": "Event", "LogType": "Tail",
        "Payload": b'{"raw": true}',
    }  # fmt: skip
    listed = parse_request(plan("ListFunctions"), {}, {"MaxItems": ["5"], "Marker": ["m"]}, {}, b"")
    assert listed == {"MaxItems": 5, "Marker": "m"}
    untag = parse_request(plan("UntagResource"), {"Resource": ARN}, {"tagKeys": ["a", "b"]}, {}, b"")
    assert untag["TagKeys"] == ["a", "b"]


def test_bad_members_are_awss_errors() -> None:
    with pytest.raises(AwsError) as enum:
        parse_request(plan("Invoke"), {"FunctionName": "f"}, {}, {"x-amz-invocation-type": "Sometimes"}, b"")
    assert enum.value.code == "ValidationException" and "InvocationType" in enum.value.message
    with pytest.raises(AwsError) as number:
        parse_request(plan("ListFunctions"), {}, {"MaxItems": ["many"]}, {}, b"")
    assert number.value.code == "ValidationException"
    with pytest.raises(AwsError) as body:
        parse_request(plan("CreateFunction"), {}, {}, {}, b"[1]")
    assert body.value.code == "InvalidRequestContentException"
    with pytest.raises(AwsError) as missing:
        parse_request(plan("CreateFunction"), {}, {}, {}, b'{"FunctionName": "f"}')
    assert missing.value.code == "ValidationException" and "'Code'" in missing.value.message


@pytest.mark.parametrize(
    ("reference", "qualifier", "expected"),
    [
        ("my-fn", None, ("my-fn", None)),
        ("my-fn:3", None, ("my-fn", "3")),
        ("my-fn", "$LATEST", ("my-fn", "$LATEST")),
        ("123456789012:function:my-fn", None, ("my-fn", None)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:my-fn:live", None, ("my-fn", "live")),
        (ARN, "7", ("my-fn", "7")),
    ],
)
def test_function_references(reference: str, qualifier: str | None, expected: tuple[str, str | None]) -> None:
    assert function_ref(reference, qualifier) == expected


@pytest.mark.parametrize(
    ("reference", "qualifier"), [(ARN, "8"), ("has space", None), ("a:b:c:d:e:f:g:h:i", None)]
)
def test_bad_function_references(reference: str, qualifier: str | None) -> None:
    with pytest.raises(AwsError) as refused:
        function_ref(reference, qualifier)
    assert refused.value.code == "InvalidParameterValueException"
