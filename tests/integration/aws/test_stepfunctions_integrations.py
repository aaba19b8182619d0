"""Service integrations through the Step Functions endpoint with unmodified boto3: a machine created,
started and read back through AWS's wire protocol calls DynamoDB (a moto server on loopback, its
endpoint configured through /v1) and an HTTP Task with an API key connection; an unknown service
resource is an InvalidDefinition naming its field."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.integration.aws.conftest import client

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
MOTO = {"region_name": "us-east-1", "aws_access_key_id": "moto", "aws_secret_access_key": "moto"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def wait_done(sfn: Any, execution_arn: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"still running: {execution_arn}"
        time.sleep(0.05)


def test_a_machine_created_through_the_aws_endpoint_calls_dynamodb(
    sfn: Any, aws_url: str, moto_url: str
) -> None:
    endpoint = {"url": moto_url, "accessKeyId": "moto", "secretAccessKey": "moto-secret"}
    assert httpx.put(f"{aws_url}/v1/service-endpoints/dynamodb", json=endpoint).status_code == 200
    table = f"t-{uuid.uuid4().hex[:8]}"
    boto3.client("dynamodb", endpoint_url=moto_url, **MOTO).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem",
                "Arguments": {"TableName": table, "Item": {"id": {"S": "{% $states.input.id %}"}}},
                "Next": "Get",
            },
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Arguments": {"TableName": table, "Key": {"id": {"S": "a"}}},
                "Output": "{% $states.result.Item %}",
                "End": True,
            },
        },
    }
    machine = sfn.create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"id": "a"}))["executionArn"]
    done = wait_done(sfn, execution)
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"id": {"S": "a"}}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    scheduled = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
    assert [(d["resourceType"], d["resource"]) for d in scheduled] == [
        ("dynamodb", "putItem"),
        ("aws-sdk:dynamodb", "getItem"),
    ]
    assert "moto-secret" not in json.dumps(events, default=str)


def test_an_unknown_service_resource_is_an_invalid_definition(sfn: Any) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:deleteQueue", "End": True}},
    }
    with pytest.raises(ClientError) as raised:
        sfn.create_state_machine(
            name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidDefinition"
    assert "/States/T/Resource" in error["Message"] and "is not recognized" in error["Message"]


def test_connections_through_eventbridges_api(aws_url: str) -> None:
    events = client(aws_url, "events")
    name = f"conn-{uuid.uuid4().hex[:8]}"
    created = events.create_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "ada", "Password": "eb-s3cret"}},
    )
    assert created["ConnectionArn"].endswith(f":connection/{name}")
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=name)
    assert described["AuthParameters"] == {"BasicAuthParameters": {"Username": "ada"}}
    assert "eb-s3cret" not in json.dumps(described, default=str)
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [c["Name"] for c in listed] == [name]
    with pytest.raises(ClientError) as raised:
        events.create_connection(
            Name=name,
            AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "a", "Password": "b"}},
        )
    assert raised.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    with pytest.raises(ClientError) as raised:
        events.describe_connection(Name=name)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        events.list_archives()  # (buses, rules and PutEvents are served: workers/events)
    assert raised.value.response["Error"]["Code"] == "UnsupportedOperation"


def test_step_functions_calls_can_go_to_stepline_itself(sfn: Any, aws_url: str) -> None:
    endpoint = {"url": aws_url, "accessKeyId": "local", "secretAccessKey": "local"}
    assert httpx.put(f"{aws_url}/v1/service-endpoints/stepfunctions", json=endpoint).status_code == 200
    child = sfn.create_state_machine(
        name=f"child-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
                "Parameters": {"StateMachineArn": child},
                "ResultSelector": {"name.$": "$.Name", "status.$": "$.Status"},
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=machine)["executionArn"])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"name": child.rsplit(":", 1)[1], "status": "ACTIVE"}
