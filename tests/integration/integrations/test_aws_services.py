"""AWS service integrations end to end through executions on Temporal, against a moto server on
loopback: DynamoDB (JSON protocol), SQS (JSON), SNS (query), S3 (rest-xml), EventBridge (JSON)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.helpers import all_history, create_machine, start, unique, wait_until_done
from tests.integration.integrations.conftest import aws

pytestmark = pytest.mark.usefixtures("integrations_worker")

STATES = "arn:aws:states:::"
SECRET = "moto-secret-access-key"


async def configure(api: httpx.AsyncClient, moto_url: str, *services: str) -> None:
    for service in services:
        body = {"url": moto_url, "accessKeyId": "moto", "secretAccessKey": SECRET}
        response = await api.put(f"/v1/service-endpoints/{service}", json=body)
        assert response.status_code == 200, response.text


def task(resource: str, parameters: dict[str, Any], next_state: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": STATES + resource,
        "Parameters": parameters,
        "Next": next_state,
        **extra,
    }


async def test_a_machine_uses_dynamodb_sqs_sns_s3_and_eventbridge(
    api: httpx.AsyncClient, moto_url: str
) -> None:
    await configure(api, moto_url, "dynamodb", "sqs", "sns", "s3", "events")
    table, queue, topic, bucket = unique("table"), unique("queue"), unique("topic"), unique("bucket")
    aws(moto_url, "dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = aws(moto_url, "sqs").create_queue(QueueName=queue)["QueueUrl"]
    topic_arn = aws(moto_url, "sns").create_topic(Name=topic)["TopicArn"]
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": task(
                "dynamodb:putItem",
                {"TableName": table, "Item": {"id": {"S.$": "$.id"}, "n": {"N": "7"}}},
                "Get",
                ResultPath=None,
            ),
            "Get": task(
                "dynamodb:getItem",
                {"TableName": table, "Key": {"id": {"S.$": "$.id"}}},
                "PutAgain",
                ResultSelector={"n.$": "$.Item.n.N", "status.$": "$.SdkHttpMetadata.HttpStatusCode"},
                ResultPath="$.got",
            ),
            "PutAgain": task(
                "dynamodb:putItem",
                {
                    "TableName": table,
                    "Item": {"id": {"S.$": "$.id"}},
                    "ConditionExpression": "attribute_not_exists(id)",
                },
                "Unreachable",
                Catch=[
                    {
                        "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                        "ResultPath": "$.conflict",
                        "Next": "Send",
                    }
                ],
            ),
            "Unreachable": {"Type": "Fail", "Error": "Unreachable"},
            "Send": task(
                "sqs:sendMessage",
                {"QueueUrl": queue_url, "MessageBody": {"hello.$": "$.id"}},
                "Publish",
                ResultSelector={"id.$": "$.MessageId"},
                ResultPath="$.sent",
            ),
            "Publish": task(
                "sns:publish",
                {"TopicArn": topic_arn, "Message": {"id.$": "$.id"}},
                "Bucket",
                ResultSelector={"id.$": "$.MessageId"},
                ResultPath="$.published",
            ),
            "Bucket": task("aws-sdk:s3:createBucket", {"Bucket": bucket}, "PutObject", ResultPath=None),
            "PutObject": task(
                "aws-sdk:s3:putObject",
                {"Bucket": bucket, "Key": "k", "Body.$": "$.id"},
                "GetObject",
                ResultPath=None,
            ),
            "GetObject": task(
                "aws-sdk:s3:getObject",
                {"Bucket": bucket, "Key": "k"},
                "Missing",
                ResultSelector={"body.$": "$.Body", "length.$": "$.ContentLength"},
                ResultPath="$.object",
            ),
            "Missing": task(
                "aws-sdk:s3:getObject",
                {"Bucket": bucket, "Key": "absent"},
                "Unreachable",
                Catch=[
                    {"ErrorEquals": ["S3.NoSuchKeyException"], "ResultPath": "$.missing", "Next": "Events"}
                ],
            ),
            "Events": {
                "Type": "Task",
                "Resource": STATES + "events:putEvents",
                "Parameters": {
                    "Entries": [{"Source": "stepline.test", "DetailType": "t", "Detail": {"id.$": "$.id"}}]
                },
                "ResultSelector": {"failed.$": "$.FailedEntryCount"},
                "ResultPath": "$.events",
                "End": True,
            },
        },
    }
    machine = await create_machine(api, definition)
    execution = await start(api, machine, {"id": "item-1"})
    done = await wait_until_done(api, execution["executionId"])
    assert done["status"] == "SUCCEEDED", done
    output = done["output"]
    assert output["got"] == {"n": "7", "status": 200}
    assert output["conflict"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert output["object"] == {"body": "item-1", "length": 6}
    assert output["missing"]["Error"] == "S3.NoSuchKeyException"
    assert output["events"] == {"failed": 0}
    [message] = aws(moto_url, "sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert (message["MessageId"], json.loads(message["Body"])) == (output["sent"]["id"], {"hello": "item-1"})
    assert output["published"]["id"]
    item = aws(moto_url, "dynamodb").get_item(TableName=table, Key={"id": {"S": "item-1"}})["Item"]
    assert item == {"id": {"S": "item-1"}, "n": {"N": "7"}}
    events = await all_history(api, execution["executionId"])
    scheduled = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
    assert [(d["resourceType"], d["resource"]) for d in scheduled][:2] == [
        ("dynamodb", "putItem"),
        ("dynamodb", "getItem"),
    ]
    assert ("aws-sdk:s3", "getObject") in [(d["resourceType"], d["resource"]) for d in scheduled]
    assert SECRET not in json.dumps(events)


async def test_a_service_without_an_endpoint_fails_the_task_naming_what_to_configure(
    api: httpx.AsyncClient,
) -> None:
    definition = {
        "StartAt": "Secret",
        "States": {
            "Secret": {
                "Type": "Task",
                "Resource": STATES + "aws-sdk:secretsmanager:getSecretValue",
                "Parameters": {"SecretId": "s"},
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine))["executionId"])
    assert (done["status"], done["error"]) == ("FAILED", "States.TaskFailed")
    assert "PUT /v1/service-endpoints/secretsmanager" in done["cause"]


async def test_a_synchronous_execution_calls_the_service_too(api: httpx.AsyncClient, moto_url: str) -> None:
    await configure(api, moto_url, "dynamodb")
    table = unique("table")
    aws(moto_url, "dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws(moto_url, "dynamodb").put_item(TableName=table, Item={"id": {"S": "a"}, "v": {"S": "found"}})
    definition = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": STATES + "dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"id": {"S": "a"}}},
                "OutputPath": "$.Item.v.S",
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition, type="EXPRESS")
    response = await api.post(f"/v1/state-machines/{machine}/sync-executions", json={"input": {}})
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["output"]) == ("SUCCEEDED", "found")


async def test_endpoints_never_show_their_secret_and_refuse_bad_input(api: httpx.AsyncClient) -> None:
    body = {"url": "http://127.0.0.1:1", "accessKeyId": "key", "secretAccessKey": "hidden-secret"}
    response = await api.put("/v1/service-endpoints/kinesis", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["hasSecret"] is True
    listed = await api.get("/v1/service-endpoints")
    assert "hidden-secret" not in listed.text and "hidden-secret" not in response.text
    assert (await api.put("/v1/service-endpoints/kinesis", json={"url": "file:///etc"})).status_code == 400
    assert (await api.put("/v1/service-endpoints/Bad Name", json={})).status_code in (400, 404, 422)
    assert (await api.get("/v1/service-endpoints/nothing-here")).status_code == 404
    assert (await api.delete("/v1/service-endpoints/kinesis")).status_code == 204


async def test_an_unknown_service_resource_is_refused_at_its_resource_field(api: httpx.AsyncClient) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": STATES + "dynamodb:scan", "End": True}},
    }
    response = await api.post("/v1/state-machines", json={"name": unique("sm"), "definition": definition})
    assert response.status_code == 400
    assert "/States/T/Resource" in response.text and "is not recognized" in response.text


async def test_an_aws_sdk_operation_that_does_not_exist_is_refused_on_create_and_validate(
    api: httpx.AsyncClient,
) -> None:
    state = {"Type": "Task", "Resource": STATES + "aws-sdk:s3:getObjekt", "Parameters": {}, "End": True}
    definition = {"StartAt": "T", "States": {"T": state}}
    created = await api.post("/v1/state-machines", json={"name": unique("sm"), "definition": definition})
    assert created.status_code == 400
    assert "/States/T/Resource" in created.text and "aws-sdk:s3:getObjekt is not recognized" in created.text
    validated = (await api.post("/v1/state-machines/validate", json={"definition": definition})).json()
    assert validated["result"] == "FAIL"
    assert [d["location"] for d in validated["diagnostics"]] == ["/States/T/Resource"]
    state["Resource"] = STATES + "aws-sdk:s3:getObject"
    assert (await api.post("/v1/state-machines/validate", json={"definition": definition})).json()[
        "result"
    ] == "OK"


async def test_a_map_of_service_tasks_runs_them_side_by_side(api: httpx.AsyncClient, moto_url: str) -> None:
    await configure(api, moto_url, "dynamodb")
    table = unique("table")
    aws(moto_url, "dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = {
        "Type": "Task",
        "Resource": STATES + "dynamodb:putItem",
        "Parameters": {"TableName": table, "Item": {"id": {"S.$": "States.Format('item-{}', $)"}}},
        "ResultSelector": {"status.$": "$.SdkHttpMetadata.HttpStatusCode"},
        "End": True,
    }
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 8,
                "ItemProcessor": {"StartAt": "Put", "States": {"Put": put}},
                "End": True,
            }
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine, list(range(40))))["executionId"], seconds=60)
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == [{"status": 200}] * 40
    items = aws(moto_url, "dynamodb").scan(TableName=table)["Items"]
    assert sorted(item["id"]["S"] for item in items) == sorted(f"item-{n}" for n in range(40))


async def test_a_camel_case_service_takes_and_answers_pascal_case(
    api: httpx.AsyncClient, moto_url: str
) -> None:
    await configure(api, moto_url, "stepfunctions")
    name = unique("inner")
    definition = {
        "StartAt": "Make",
        "States": {
            "Make": {
                "Type": "Task",
                "Resource": STATES + "aws-sdk:sfn:createStateMachine",
                "Parameters": {
                    "Name": name,
                    "Definition": json.dumps(
                        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                    ),
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                },
                "Next": "List",
            },
            "List": {
                "Type": "Task",
                "Resource": STATES + "aws-sdk:sfn:listStateMachines",
                "Parameters": {"MaxResults": 100},
                "ResultSelector": {"names.$": "$.StateMachines[*].Name"},
                "ResultPath": "$.listed",
                "End": True,
            },
        },
    }
    machine = await create_machine(api, definition)
    done = await wait_until_done(api, (await start(api, machine))["executionId"])
    assert done["status"] == "SUCCEEDED", done
    assert done["output"]["StateMachineArn"].endswith(f":stateMachine:{name}")
    assert name in done["output"]["listed"]["names"]
