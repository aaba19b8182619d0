"""Step Functions' state machine, version and tag operations through unmodified boto3, against the
real API over HTTP; every response checked against the operation's output shape."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.contract import check_response

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
HELLO = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "hello", "End": True}}}
BYE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "bye", "End": True}}}


def unique(prefix: str = "sm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def call(sfn: Any, operation: str, **params: Any) -> dict[str, Any]:
    """One boto3 call, its response checked against ``operation``'s output shape."""
    method = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
    return check_response("stepfunctions", operation, getattr(sfn, method)(**params))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def create(sfn: Any, definition: dict[str, Any] = HELLO, **extra: Any) -> str:
    created = call(
        sfn, "CreateStateMachine", name=unique(), definition=json.dumps(definition), roleArn=ROLE, **extra
    )
    return str(created["stateMachineArn"])


def test_create_describe_update_delete(sfn: Any) -> None:
    name = unique()
    text = json.dumps(HELLO, indent=2)
    created = call(sfn, "CreateStateMachine", name=name, definition=text, roleArn=ROLE, type="EXPRESS")
    arn = created["stateMachineArn"]
    assert arn == f"arn:aws:states:us-east-1:000000000000:stateMachine:{name}"
    assert "stateMachineVersionArn" not in created
    described = call(sfn, "DescribeStateMachine", stateMachineArn=arn)
    assert described["definition"] == text  # the text as sent, not re-serialised
    assert (described["name"], described["type"], described["status"], described["roleArn"]) == (
        name, "EXPRESS", "ACTIVE", ROLE,
    )  # fmt: skip
    assert described["loggingConfiguration"]["level"] == "OFF"
    assert "revisionId" not in described  # the first revision has none, as in AWS

    updated = call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(BYE))
    assert "stateMachineVersionArn" not in updated
    after = call(sfn, "DescribeStateMachine", stateMachineArn=arn)
    assert (json.loads(after["definition"]), after["revisionId"]) == (BYE, updated["revisionId"])

    role_only = call(sfn, "UpdateStateMachine", stateMachineArn=arn, roleArn=ROLE + "2")
    assert role_only["revisionId"] != updated["revisionId"]
    assert call(sfn, "DescribeStateMachine", stateMachineArn=arn)["roleArn"] == ROLE + "2"
    same = call(sfn, "UpdateStateMachine", stateMachineArn=arn, roleArn=ROLE + "2")
    assert same["revisionId"] == role_only["revisionId"]  # nothing changed: no new revision

    call(sfn, "DeleteStateMachine", stateMachineArn=arn)
    with pytest.raises(ClientError) as gone:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert error_of(gone) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    call(sfn, "DeleteStateMachine", stateMachineArn=arn)  # deleting what is gone succeeds, as in AWS


def test_list_state_machines_pages_with_next_token(sfn: Any) -> None:
    prefix = unique("page")
    ours = sorted(f"{prefix}-{i}" for i in range(5))
    for name in ours:
        call(sfn, "CreateStateMachine", name=name, definition=json.dumps(HELLO), roleArn=ROLE)
    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page = call(sfn, "ListStateMachines", maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["stateMachines"]) <= 2
        seen += [m["name"] for m in page["stateMachines"]]
        pages += 1
        token = page.get("nextToken")
        if token is None:
            break
    assert pages >= 3
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert [name for name in seen if name.startswith(prefix)] == ours
    everything = [
        m["name"] for p in sfn.get_paginator("list_state_machines").paginate() for m in p["stateMachines"]
    ]
    assert everything == seen


def test_versions_publish_list_describe_delete(sfn: Any) -> None:
    created = call(
        sfn, "CreateStateMachine", name=unique(), definition=json.dumps(HELLO), roleArn=ROLE, publish=True,
        versionDescription="first",
    )  # fmt: skip
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    assert v1 == f"{arn}:1"
    updated = call(
        sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(BYE), publish=True,
        versionDescription="second",
    )  # fmt: skip
    v2 = updated["stateMachineVersionArn"]
    assert v2 == f"{arn}:2"
    listed = call(sfn, "ListStateMachineVersions", stateMachineArn=arn)
    assert [v["stateMachineVersionArn"] for v in listed["stateMachineVersions"]] == [v2, v1]
    first = call(sfn, "DescribeStateMachine", stateMachineArn=v1)
    assert (first["stateMachineArn"], json.loads(first["definition"]), first["description"]) == (
        v1,
        HELLO,
        "first",
    )
    assert "description" not in call(sfn, "DescribeStateMachine", stateMachineArn=arn)

    again = call(sfn, "PublishStateMachineVersion", stateMachineArn=arn)
    assert again["stateMachineVersionArn"] == v2  # the latest revision is v2 already: idempotent
    unchanged = call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(BYE), publish=True)
    assert unchanged["stateMachineVersionArn"] == v2

    call(sfn, "DeleteStateMachineVersion", stateMachineVersionArn=v2)
    call(sfn, "DeleteStateMachineVersion", stateMachineVersionArn=v2)  # again: succeeds, as in AWS
    remaining = call(sfn, "ListStateMachineVersions", stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in remaining] == [v1]
    with pytest.raises(ClientError) as deleted:
        sfn.describe_state_machine(stateMachineArn=v2)
    assert error_of(deleted) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{v2}'")

    call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(HELLO))
    v3 = call(sfn, "PublishStateMachineVersion", stateMachineArn=arn, description="third")
    assert v3["stateMachineVersionArn"] == f"{arn}:3"  # numbers are never reused


def test_list_versions_pages(sfn: Any) -> None:
    arn = create(sfn, publish=True)
    for i in range(4):
        definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": i, "End": True}}}
        call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(definition), publish=True)
    numbers: list[int] = []
    pages = 0
    token: dict[str, str] = {}
    while True:  # boto3 has no paginator for this operation
        page = call(sfn, "ListStateMachineVersions", stateMachineArn=arn, maxResults=2, **token)
        numbers += [int(v["stateMachineVersionArn"].rsplit(":", 1)[1]) for v in page["stateMachineVersions"]]
        pages += 1
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert (numbers, pages) == ([5, 4, 3, 2, 1], 3)


def test_publish_with_a_stale_revision_id_is_a_conflict(sfn: Any) -> None:
    arn = create(sfn)
    first = call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(BYE))["revisionId"]
    second = call(sfn, "UpdateStateMachine", stateMachineArn=arn, definition=json.dumps(HELLO))["revisionId"]
    with pytest.raises(ClientError) as stale:
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=first)
    assert error_of(stale) == (
        "ConflictException",
        f"Failed to publish the State Machine version for revision {first}. "
        f"The current State Machine revision is {second}.",
    )
    assert call(sfn, "ListStateMachineVersions", stateMachineArn=arn)["stateMachineVersions"] == []
    published = call(sfn, "PublishStateMachineVersion", stateMachineArn=arn, revisionId=second)
    assert published["stateMachineVersionArn"] == f"{arn}:1"


def test_exact_duplicate_create_is_idempotent_other_definitions_are_refused(sfn: Any) -> None:
    name = unique()
    text = json.dumps(HELLO)
    first = call(sfn, "CreateStateMachine", name=name, definition=text, roleArn=ROLE)
    again = call(sfn, "CreateStateMachine", name=name, definition=text, roleArn=ROLE)
    assert again == first
    for other in (json.dumps(BYE), json.dumps(HELLO, indent=1)):
        with pytest.raises(ClientError) as exists:
            sfn.create_state_machine(name=name, definition=other, roleArn=ROLE)
        assert error_of(exists) == (
            "StateMachineAlreadyExists", f"State Machine Already Exists: '{first['stateMachineArn']}'",
        )  # fmt: skip


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = call(sfn, "ValidateStateMachineDefinition", definition=json.dumps(HELLO))
    assert (ok["result"], ok["diagnostics"], ok["truncated"]) == ("OK", [], False)
    bad = call(sfn, "ValidateStateMachineDefinition", definition=json.dumps({"States": {}}))
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"
    assert all(d["severity"] == "ERROR" for d in bad["diagnostics"])
    garbage = call(sfn, "ValidateStateMachineDefinition", definition="not a definition")
    assert garbage["result"] == "FAIL"
    one = call(
        sfn, "ValidateStateMachineDefinition", definition=json.dumps({"States": {}, "X": 1}), maxResults=1
    )
    assert len(one["diagnostics"]) == 1 and one["truncated"] is True


def test_tags(sfn: Any) -> None:
    arn = create(sfn, tags=[{"key": "team", "value": "a"}])
    assert call(sfn, "ListTagsForResource", resourceArn=arn)["tags"] == [{"key": "team", "value": "a"}]
    call(
        sfn,
        "TagResource",
        resourceArn=arn,
        tags=[{"key": "team", "value": "b"}, {"key": "env", "value": "dev"}],
    )
    tags = call(sfn, "ListTagsForResource", resourceArn=arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("env", "dev"), ("team", "b")]
    call(sfn, "UntagResource", resourceArn=arn, tagKeys=["team", "absent"])
    assert call(sfn, "ListTagsForResource", resourceArn=arn)["tags"] == [{"key": "env", "value": "dev"}]
    with pytest.raises(ClientError) as too_many:
        sfn.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    assert error_of(too_many)[0] == "TooManyTags"
    call(sfn, "DeleteStateMachine", stateMachineArn=arn)
    with pytest.raises(ClientError) as missing:
        sfn.list_tags_for_resource(resourceArn=arn)
    assert error_of(missing) == ("ResourceNotFound", f"Resource not found: '{arn}'")
    name = arn.rsplit(":", 1)[1]
    recreated = call(sfn, "CreateStateMachine", name=name, definition=json.dumps(HELLO), roleArn=ROLE)
    assert call(sfn, "ListTagsForResource", resourceArn=recreated["stateMachineArn"])["tags"] == []


@pytest.mark.parametrize(
    ("operation", "params", "code", "message"),
    [
        (
            "describe_state_machine",
            {"stateMachineArn": "not_a_valid_arn"},
            "InvalidArn",
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'",
        ),
        (
            "create_state_machine",
            {"name": "has space", "definition": json.dumps(HELLO), "roleArn": ROLE},
            "InvalidName",
            "Invalid Name: 'has space'",
        ),
        (
            "create_state_machine",
            {"name": "bad-def", "definition": json.dumps({"StartAt": "A"}), "roleArn": ROLE},
            "InvalidDefinition",
            "Invalid State Machine Definition: "
            "'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'",
        ),
        (
            "create_state_machine",
            {"name": "bad-json", "definition": "{'a'", "roleArn": ROLE},
            "InvalidDefinition",
            "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ",
        ),
        (
            "create_state_machine",
            {"name": "desc", "definition": json.dumps(HELLO), "roleArn": ROLE, "versionDescription": "d"},
            "ValidationException",
            "Version description can only be set when publish is true",
        ),
        (
            "list_state_machines",
            {"maxResults": 1001},
            "ValidationException",
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000",
        ),
        (
            "list_state_machines",
            {"nextToken": "not-a-token"},
            "InvalidToken",
            "Invalid Token: 'nextToken is not a token this API issued'",
        ),
        (
            "update_state_machine",
            {"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope"},
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration "
            "must be specified",
        ),
        (
            "publish_state_machine_version",
            {"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope"},
            "StateMachineDoesNotExist",
            "State Machine Does Not Exist: 'arn:aws:states:us-east-1:000000000000:stateMachine:nope'",
        ),
        (
            "list_state_machine_versions",
            {"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:nope"},
            "StateMachineDoesNotExist",
            "State Machine Does Not Exist: 'arn:aws:states:us-east-1:000000000000:stateMachine:nope'",
        ),
        (
            "update_map_run",
            {"mapRunArn": "arn:aws:states:us-east-1:000000000000:mapRun:m:e/Each:run", "maxConcurrency": 2},
            "ResourceNotFound",
            "Map run does not exist: arn:aws:states:us-east-1:000000000000:mapRun:m:e/Each:run",
        ),
    ],
    ids=[
        "invalid-arn", "invalid-name", "invalid-definition", "definition-not-json", "description-no-publish",
        "max-results", "foreign-token", "no-update", "publish-missing", "versions-missing", "no-map-run",
    ],
)  # fmt: skip
def test_errors_have_aws_codes_and_words(
    sfn: Any, operation: str, params: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        getattr(sfn, operation)(**params)
    got_code, got_message = error_of(caught)
    assert got_code == code
    assert got_message.startswith(message), got_message
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["ResponseMetadata"]["RequestId"]


def test_the_wire_protocol_for_what_boto3_never_sends(aws_url: str) -> None:
    """Unknown targets, bodies that are not JSON objects, wrong types: AWS error documents, 400."""
    headers = {"content-type": "application/x-amz-json-1.0"}
    cases = [
        ({"x-amz-target": "AWSStepFunctions.NoSuchThing"}, b"{}", "UnknownOperationException"),
        ({"x-amz-target": "SomeOtherService.ListThings"}, b"{}", "UnknownOperationException"),
        ({}, b"{}", "UnknownOperationException"),
        ({"x-amz-target": "AWSStepFunctions.ListStateMachines"}, b"[1]", "SerializationException"),
        ({"x-amz-target": "AWSStepFunctions.ListStateMachines"}, b"{not json", "SerializationException"),
        (
            {"x-amz-target": "AWSStepFunctions.ListStateMachines"},
            b'{"maxResults": "9"}',
            "SerializationException",
        ),
        ({"x-amz-target": "AWSStepFunctions.DescribeStateMachine"}, b'{"stateMachineArn": "a\\u0000"}', None),
    ]
    for extra, body, code in cases:
        response = httpx.post(aws_url + "/", headers={**headers, **extra}, content=body)
        assert response.status_code == 400, (extra, body, response.text)
        assert response.headers["x-amzn-requestid"]
        assert response.headers["content-type"] == "application/x-amz-json-1.0"
        document = response.json()
        assert set(document) == {"__type", "message"}, document
        if code is not None:
            assert document["__type"] == code, document
    empty = httpx.post(
        aws_url + "/", headers={**headers, "x-amz-target": "AWSStepFunctions.ListStateMachines"}
    )
    assert empty.status_code == 200 and "stateMachines" in empty.json()
