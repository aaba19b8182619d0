"""Asynchronous invocation settings and destinations through unmodified boto3: Put/Get/Update/List/Delete
FunctionEventInvokeConfig with Lambda's errors, and Event invocations whose records reach a function
(OnSuccess), a state machine (OnFailure) and an SQS queue (a moto server on loopback), in Lambda's
invocation-record shape."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from foundation.registry import event_invoke
from foundation.registry.database import create_engine, session_maker, unit_of_work
from foundation.registry.functions import utcnow as registry_now
from foundation.settings import Settings
from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap
from workers.functions.destinations import Destinations

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

SOURCE = """def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"done": event}
"""
RECORDER = """import json


def handler(event, context):
    print("RECORD " + json.dumps(event, sort_keys=True))
    return {}
"""
PASS_MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _records(aws_url: str, function: str, marker: str, count: int, timeout: float = 60.0) -> list[Any]:
    """The records ``function`` printed that hold ``marker``, once there are ``count`` (or at the timeout)."""
    deadline = time.monotonic() + timeout
    found: list[Any] = []
    while time.monotonic() < deadline and len(found) < count:
        time.sleep(0.3)
        events = httpx.get(f"{aws_url}/v1/functions/{function}/logs").json()["events"]
        found = [
            json.loads(e["message"].split("RECORD ", 1)[1])
            for e in events
            if "RECORD " in e["message"] and marker in e["message"]
        ]
    return found


@pytest.fixture(scope="module")
def functions(lam: Any) -> tuple[str, str]:
    source, recorder = unique("source"), unique("recorder")
    create(lam, source, {"app.py": SOURCE})
    create(lam, recorder, {"app.py": RECORDER})
    return source, recorder


def test_config_lifecycle_and_errors(lam: Any, functions: tuple[str, str], sfn: Any) -> None:
    source, recorder = functions
    recorder_arn = lam.get_function(FunctionName=recorder)["Configuration"]["FunctionArn"]
    missing = error_of(lam.get_function_event_invoke_config, FunctionName=source)
    assert missing[:2] == ("ResourceNotFoundException", 404) and "EventInvokeConfig" in missing[2]
    put = checked(
        lam, "PutFunctionEventInvokeConfig", FunctionName=source, MaximumRetryAttempts=1,
        DestinationConfig={"OnSuccess": {"Destination": recorder_arn}},
    )  # fmt: skip
    assert put["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {"Destination": recorder_arn}, "OnFailure": {}}
    assert put["FunctionArn"].endswith(f":function:{source}:$LATEST")
    updated = checked(
        lam, "UpdateFunctionEventInvokeConfig", FunctionName=source, MaximumEventAgeInSeconds=300
    )
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (1, 300)
    assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": recorder_arn}
    got = checked(lam, "GetFunctionEventInvokeConfig", FunctionName=source)
    assert got["MaximumEventAgeInSeconds"] == 300
    listed = checked(lam, "ListFunctionEventInvokeConfigs", FunctionName=source)
    assert [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]] == [got["FunctionArn"]]
    replaced = checked(lam, "PutFunctionEventInvokeConfig", FunctionName=source, MaximumRetryAttempts=0)
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    assert "MaximumEventAgeInSeconds" not in replaced
    checked(lam, "DeleteFunctionEventInvokeConfig", FunctionName=source)
    assert error_of(lam.delete_function_event_invoke_config, FunctionName=source)[:2] == (
        "ResourceNotFoundException",
        404,
    )
    self_arn = lam.get_function(FunctionName=source)["Configuration"]["FunctionArn"]
    refused = {
        "itself": {"DestinationConfig": {"OnSuccess": {"Destination": self_arn}}},
        "unknown function": {
            "DestinationConfig": {"OnFailure": {"Destination": recorder_arn.replace(recorder, "nobody")}}
        },
        "unknown machine": {
            "DestinationConfig": {
                "OnFailure": {"Destination": "arn:aws:states:us-east-1:000000000000:stateMachine:none"}
            }
        },
        "other service": {
            "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:000000000000:t"}}
        },
    }
    for case, params in refused.items():
        code, status, _ = error_of(lam.put_function_event_invoke_config, FunctionName=source, **params)
        assert (code, status) == ("InvalidParameterValueException", 400), case
    assert error_of(
        lam.put_function_event_invoke_config, FunctionName=unique("none"), MaximumRetryAttempts=0
    )[:2] == ("ResourceNotFoundException", 404)
    no_version = error_of(
        lam.put_function_event_invoke_config, FunctionName=source, Qualifier="7", MaximumRetryAttempts=0
    )
    assert no_version[:2] == ("ResourceNotFoundException", 404)


def test_records_reach_a_function_on_success_and_a_state_machine_on_failure(
    lam: Any, sfn: Any, functions: tuple[str, str], aws_url: str
) -> None:
    source, recorder = functions
    machine = sfn.create_state_machine(
        name=unique("records"),
        definition=json.dumps(PASS_MACHINE),
        roleArn="arn:aws:iam::000000000000:role/r",
    )["stateMachineArn"]
    recorder_arn = lam.get_function(FunctionName=recorder)["Configuration"]["FunctionArn"]
    lam.put_function_event_invoke_config(
        FunctionName=source, MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": recorder_arn}, "OnFailure": {"Destination": machine}},
    )  # fmt: skip
    marker = unique("ok")
    queued = lam.invoke(FunctionName=source, InvocationType="Event", Payload=json.dumps({"m": marker}))
    request_id = queued["ResponseMetadata"]["RequestId"]
    failing = lam.invoke(FunctionName=source, InvocationType="Event", Payload=json.dumps({"fail": marker}))
    failed_id = failing["ResponseMetadata"]["RequestId"]

    [record] = _records(aws_url, recorder, marker, 1)
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context == {
        "requestId": request_id,
        "functionArn": f"{recorder_arn.replace(recorder, source)}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"m": marker}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"done": {"m": marker}}

    execution_arn = f"{machine.replace(':stateMachine:', ':execution:')}:{failed_id}"
    deadline = time.monotonic() + 60
    while True:
        try:
            described = sfn.describe_execution(executionArn=execution_arn)
            break
        except sfn.exceptions.ExecutionDoesNotExist:
            assert time.monotonic() < deadline, "no execution started for the failure"
            time.sleep(0.3)
    failure = json.loads(described["input"])
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["responsePayload"]["errorType"] == "ValueError"
    assert failure["requestPayload"] == {"fail": marker}
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1


def test_the_v1_api_serves_the_same_configuration(lam: Any, functions: tuple[str, str], aws_url: str) -> None:
    source, recorder = functions
    base = f"{aws_url}/v1/functions/{source}/event-invoke-config"
    recorder_arn = lam.get_function(FunctionName=recorder)["Configuration"]["FunctionArn"]
    put = httpx.put(
        base,
        json={"maximumRetryAttempts": 2, "destinationConfig": {"onFailure": {"destination": recorder_arn}}},
    )
    assert put.status_code == 200, put.text
    assert put.json()["destinationConfig"]["onFailure"]["destination"] == recorder_arn
    patched = httpx.patch(base, json={"maximumEventAgeInSeconds": 120}).json()
    assert (patched["maximumRetryAttempts"], patched["maximumEventAgeInSeconds"]) == (2, 120)
    seen = lam.get_function_event_invoke_config(FunctionName=source)
    assert seen["DestinationConfig"]["OnFailure"] == {"Destination": recorder_arn}
    assert seen["MaximumEventAgeInSeconds"] == 120
    assert [c["functionArn"] for c in httpx.get(base + "/list").json()["functionEventInvokeConfigs"]] == [
        seen["FunctionArn"]
    ]
    too_many = httpx.put(base, json={"maximumRetryAttempts": 3})
    assert too_many.status_code in {400, 422}
    assert "maximumRetryAttempts" in too_many.text
    missing_alias = httpx.get(base, params={"qualifier": "nosuch"})
    assert missing_alias.status_code == 404
    assert httpx.delete(base).status_code == 204
    assert httpx.get(base).status_code == 404


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_records_reach_an_sqs_queue(
    lam: Any, functions: tuple[str, str], aws_url: str, moto_url: str
) -> None:
    source, _ = functions
    endpoint = {"url": moto_url, "accessKeyId": "moto", "secretAccessKey": "moto-secret"}
    assert httpx.put(f"{aws_url}/v1/service-endpoints/sqs", json=endpoint).status_code == 200
    sqs = boto3.client(
        "sqs", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="moto",
        aws_secret_access_key="moto",
    )  # fmt: skip
    queue = unique("records")
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:000000000000:{queue}"
    lam.put_function_event_invoke_config(
        FunctionName=source,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": queue_arn}},
    )
    marker = unique("queued")
    queued = lam.invoke(FunctionName=source, InvocationType="Event", Payload=json.dumps({"m": marker}))
    deadline = time.monotonic() + 60
    messages: list[Any] = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    [message] = messages
    record = json.loads(message["Body"])
    assert record["requestContext"]["requestId"] == queued["ResponseMetadata"]["RequestId"]
    assert (record["requestContext"]["condition"], record["responsePayload"]) == (
        "Success",
        {"done": {"m": marker}},
    )
    lam.delete_function_event_invoke_config(FunctionName=source)


async def test_a_state_machine_delivery_retried_after_a_crash_starts_one_execution(
    sfn: Any, database_url: str, temporal_address: str
) -> None:
    """The outbox's two crash points: after the outcome's commit (the record waits, PENDING: the next
    consumer delivers it) and after the start but before DELIVERED was written (delivered again: the
    execution's name makes that start a no-op)."""
    machine = sfn.create_state_machine(
        name=unique("outbox"), definition=json.dumps(PASS_MACHINE), roleArn="arn:aws:iam::000000000000:role/r"
    )["stateMachineArn"]
    settings = Settings(
        database_url=SecretStr(database_url),
        temporal_address=temporal_address,
        temporal={"task_queue": unique("outbox")},  # no worker: the start is what is checked
    )
    engine = create_engine(database_url, 2)
    sessions = session_maker(engine)
    request_id, record = str(uuid.uuid4()), json.dumps({"requestContext": {"condition": "Success"}})
    try:
        async with unit_of_work(sessions) as session:
            await event_invoke.add_delivery(session, request_id, machine, record)
        destinations = Destinations(settings, sessions)
        await destinations.deliver_due()
        async with unit_of_work(sessions) as session:
            delivery = await session.get(event_invoke.DestinationDelivery, request_id)
            assert delivery is not None and (delivery.status, delivery.error) == ("DELIVERED", None)
            delivery.status, delivery.available_at = "PENDING", registry_now()
            session.add(delivery)
        await destinations.deliver_due()
        async with unit_of_work(sessions) as session:
            again = await event_invoke.get_delivery(session, request_id)
            assert again is not None and (again.status, again.attempts) == ("DELIVERED", 2)
    finally:
        await engine.dispose()
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [e["name"] for e in executions] == [request_id]
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == json.loads(record)
