"""The Step Functions endpoint behind SigV4 (``api.aws.auth``): once an access key exists, boto3 signed
with it works end to end (the body the gate read to verify reaches the operation intact), and a wrong
secret, an unknown key, a tampered body or no signature are refused in awsJson1_0's error shape."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from pydantic import SecretStr

from foundation.settings import Settings
from shell.keys import create_key
from tests.integration.aws.server import ServerThread

pytestmark = [pytest.mark.integration, pytest.mark.security]

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "signed", "End": True}}}
ROLE = "arn:aws:iam::123456789012:role/R"


@pytest.fixture(scope="module")
def keyed(own_database: str, temporal_address: str) -> Iterator[tuple[str, tuple[str, str]]]:
    settings = Settings(
        database_url=SecretStr(own_database),
        temporal_address=temporal_address,
        data_dir=tempfile.mkdtemp(prefix="stepline-sfn-auth-"),
        temporal={"task_queue": f"sfn-auth-{uuid.uuid4().hex[:12]}"},
        sandbox={"spare_environments": 0},
    )
    key = asyncio.run(create_key(settings, "123456789012"))
    with ServerThread(settings) as url:
        yield url, key


def sfn(url: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
    )


def refused(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_signed_requests_run_end_to_end(keyed: tuple[str, tuple[str, str]]) -> None:
    url, key = keyed
    client = sfn(url, *key)
    arn = client.create_state_machine(
        name=f"signed-{uuid.uuid4().hex[:8]}", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    result = client.start_sync_execution(stateMachineArn=arn, input=json.dumps({"big": "x" * 100_000}))
    assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", "signed")
    assert json.loads(result["input"]) == {"big": "x" * 100_000}


def test_bad_signatures_and_unsigned_requests_are_refused(keyed: tuple[str, tuple[str, str]]) -> None:
    url, (key_id, secret) = keyed
    assert refused(sfn(url, key_id, secret[:-1] + "x").list_state_machines) == (
        "InvalidSignatureException",
        403,
    )
    assert refused(sfn(url, "AKIANOSUCHKEY0000000", secret).list_state_machines) == (
        "UnrecognizedClientException",
        403,
    )
    unsigned = httpx.post(
        url + "/",
        headers={
            "x-amz-target": "AWSStepFunctions.ListStateMachines",
            "content-type": "application/x-amz-json-1.0",
        },
        content=b"{}",
    )
    assert unsigned.status_code == 403
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"


def test_a_tampered_body_is_refused(keyed: tuple[str, tuple[str, str]]) -> None:
    url, key = keyed
    body = json.dumps({"maxResults": 1}).encode()
    headers = {
        "x-amz-target": "AWSStepFunctions.ListStateMachines",
        "content-type": "application/x-amz-json-1.0",
    }
    request = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(Credentials(*key), "states", "us-east-1").add_auth(request)
    prepared = request.prepare()
    sent = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    assert httpx.post(url + "/", headers=sent, content=body).status_code == 200
    tampered = httpx.post(url + "/", headers=sent, content=json.dumps({"maxResults": 2}).encode())
    assert tampered.status_code == 403
    assert tampered.json()["__type"] == "InvalidSignatureException"
