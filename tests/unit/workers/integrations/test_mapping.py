"""The pure parts of service integrations: request and result shapes, error names, URL encoding,
the HTTP allow-list and connection parameters."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.response import StreamingBody

from foundation.errors import InvalidRequest
from statemachine import StatesError, connection_arn
from workers.integrations import connections, known_operation, optimized
from workers.integrations.aws_sdk import STREAM_LIMIT, to_json
from workers.integrations.errors import exception_name, pascal_service, service_error
from workers.integrations.http_task import host_allowed, url_encode

EXECUTION = "arn:aws:states:us-east-1:000000000000:execution:m:e"
MACHINE = "arn:aws:states:us-east-1:000000000000:stateMachine:m"


def test_sqs_message_body_given_as_json_is_sent_as_its_text() -> None:
    operation, params = optimized.request(
        "sqs", "sendMessage", {"QueueUrl": "q", "MessageBody": {"a": [1, 2]}}, EXECUTION, MACHINE
    )
    assert (operation, params) == ("SendMessage", {"QueueUrl": "q", "MessageBody": '{"a":[1,2]}'})


def test_sns_message_text_stays_as_it_is() -> None:
    assert optimized.request("sns", "publish", {"Message": "hi", "TopicArn": "t"}, EXECUTION, MACHINE) == (
        "Publish",
        {"Message": "hi", "TopicArn": "t"},
    )


def test_put_events_appends_the_execution_and_machine_to_each_entry() -> None:
    _, params = optimized.request(
        "events",
        "putEvents",
        {"Entries": [{"Detail": {"x": 1}, "Resources": ["r"], "Source": "s"}, {"Source": "t"}]},
        EXECUTION,
        MACHINE,
    )
    assert params["Entries"] == [
        {"Detail": '{"x":1}', "Resources": ["r", EXECUTION, MACHINE], "Source": "s"},
        {"Source": "t", "Resources": [EXECUTION, MACHINE]},
    ]


def test_put_events_with_failed_entries_fails_as_eventbridge_failed_entry() -> None:
    answer: dict[str, Any] = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "x"}]}
    with pytest.raises(StatesError) as raised:
        optimized.response("events", answer, {})
    assert raised.value.name == "EventBridge.FailedEntry"
    assert json.loads(raised.value.cause or "") == answer


def test_dynamodb_results_carry_the_sdk_http_metadata() -> None:
    metadata = {"HTTPStatusCode": 200, "RequestId": "r1", "HTTPHeaders": {"content-type": "x"}}
    assert optimized.response("dynamodb", {"Item": {"id": {"S": "a"}}}, metadata) == {
        "Item": {"id": {"S": "a"}},
        "SdkHttpMetadata": {
            "AllHttpHeaders": {"content-type": ["x"]},
            "HttpHeaders": {"content-type": "x"},
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": "r1"},
    }


def test_parameters_that_are_not_an_object_are_a_runtime_error() -> None:
    with pytest.raises(StatesError) as raised:
        optimized.request("dynamodb", "getItem", [1], EXECUTION, MACHINE)
    assert raised.value.name == "States.Runtime"


@pytest.mark.parametrize(
    ("service_id", "expected"),
    [
        ("DynamoDB", "DynamoDb"),
        ("ACM PCA", "AcmPca"),
        ("SQS", "Sqs"),
        ("S3", "S3"),
        ("EventBridge", "EventBridge"),
    ],
)
def test_service_names_as_the_java_sdk_spells_them(service_id: str, expected: str) -> None:
    assert pascal_service(service_id) == expected


def test_error_names_get_the_exception_suffix_and_the_modelled_name() -> None:
    assert exception_name("NoSuchKey", {}) == "NoSuchKeyException"
    assert exception_name("ResourceNotFoundException", {}) == "ResourceNotFoundException"
    assert exception_name("AWS.SimpleQueueService.X", {"AWS.SimpleQueueService.X": "QueueDoesNotExist"}) == (
        "QueueDoesNotExistException"
    )


def test_a_query_compatible_error_is_named_by_its_modelled_code() -> None:
    response = {
        "Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue", "QueryErrorCode": "QueueDoesNotExist"},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "r"},
    }
    error = service_error("SQS", response, {}, "Sqs")
    assert error.name == "SQS.QueueDoesNotExistException"
    assert error.cause is not None and "Error Code: AWS.SimpleQueueService.NonExistentQueue" in error.cause


@pytest.mark.parametrize(
    ("array_format", "expected"),
    [
        ("INDICES", "a=1&b%5Bc%5D=x&l%5B0%5D=1&l%5B1%5D=2"),
        ("REPEAT", "a=1&b%5Bc%5D=x&l=1&l=2"),
        ("COMMAS", "a=1&b%5Bc%5D=x&l=1%2C2"),
        ("BRACKETS", "a=1&b%5Bc%5D=x&l%5B%5D=1&l%5B%5D=2"),
    ],
)
def test_url_encoded_bodies_follow_the_array_format(array_format: str, expected: str) -> None:
    assert url_encode({"a": 1, "b": {"c": "x"}, "l": [1, 2]}, array_format) == expected


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("LOCALHOST", True),
        ("api.example.com", True),
        ("example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_http_hosts_must_be_in_the_allow_list(host: str, allowed: bool) -> None:
    assert host_allowed(host, ["127.0.0.1", "localhost", "*.example.com"]) is allowed


def test_connection_summaries_keep_no_secret() -> None:
    summary = connections.check(
        "OAUTH_CLIENT_CREDENTIALS",
        {
            "OAuthParameters": {
                "AuthorizationEndpoint": "http://127.0.0.1/token",
                "HttpMethod": "POST",
                "ClientParameters": {"ClientID": "id", "ClientSecret": "s3cret"},
            }
        },
    )
    assert "s3cret" not in json.dumps(summary)
    assert connections.check(
        "API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    ) == {"ApiKeyAuthParameters": {"ApiKeyName": "k"}}


@pytest.mark.parametrize(
    ("kind", "parameters", "message"),
    [
        ("API_KEY", {"ApiKeyAuthParameters": {"ApiKeyName": "k"}}, "ApiKeyAuthParameters.ApiKeyValue"),
        ("BASIC", {}, "BasicAuthParameters is required"),
        ("DIGEST", {}, "authorizationType must be one of"),
    ],
)
def test_bad_connection_parameters_name_what_is_wrong(kind: str, parameters: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        connections.check(kind, parameters)


def test_connection_names_are_read_from_their_arn() -> None:
    assert connections.name_of("arn:aws:events:us-east-1:000000000000:connection/api/0f1e") == "api"
    assert connections.name_of(connection_arn("api")) == "api"
    assert connections.name_of("arn:aws:events:us-east-1:000000000000:rule/x") is None


def test_answers_become_json_with_timestamps_blobs_and_bodies_as_text() -> None:
    when = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    answer = {
        "LastModified": when,
        "Blob": b"\x00\x01",
        "Body": StreamingBody(io.BytesIO(b"hello"), 5),
        "ResponseMetadata": {"RequestId": "r"},
    }
    assert to_json(answer) == {"LastModified": "2026-12-03T22:00:00Z", "Blob": "AAE=", "Body": "hello"}
    assert to_json(when.replace(microsecond=120_000)) == "2026-12-03T22:00:00.120Z"
    assert to_json(when.replace(microsecond=5)) == "2026-12-03T22:00:00.000005Z"


def test_a_streamed_body_past_the_limit_is_a_data_limit_error() -> None:
    size = STREAM_LIMIT + 1
    with pytest.raises(StatesError) as raised:
        to_json({"Body": StreamingBody(io.BytesIO(b"x" * size), size)})
    assert raised.value.name == "States.DataLimitExceeded"


@pytest.mark.parametrize(
    ("service", "action", "known"),
    [
        ("s3", "getObject", True),
        ("s3", "listObjectsV2", True),
        ("sfn", "startExecution", True),
        ("eventbridge", "putEvents", True),
        ("s3", "getObjekt", False),
        ("nosuchservice", "get", False),
    ],
)
def test_known_operations_come_from_botocores_models(service: str, action: str, known: bool) -> None:
    assert known_operation(service, action) is known
