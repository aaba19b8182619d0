"""Who may call the AWS endpoints (and ``/v1``): SigV4 against ``stepline keys``, the bearer token, and
the open loopback mode, through a real server with unmodified boto3 and hand-made requests."""

from __future__ import annotations

import asyncio
import datetime
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.auth
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from pydantic import SecretStr

from foundation.db import upgrade
from foundation.settings import Settings
from shell.keys import create_key, revoke_key
from tests.integration.aws.server import ServerThread
from tests.integration.conftest import create_database, drop_database

pytestmark = [pytest.mark.integration, pytest.mark.security]
TOKEN = "auth-test-token-" + uuid.uuid4().hex
KEY_CACHE_SECONDS = 1.0
"""The keyed API's key cache (5 s by default): how long a revoked key may still work."""


def _settings(database_url: str, temporal_address: str, **extra: Any) -> Settings:
    data_dir = tempfile.mkdtemp(prefix="stepline-auth-")
    return Settings(
        database_url=SecretStr(database_url), temporal_address=temporal_address, data_dir=data_dir,
        temporal={"task_queue": f"auth-{uuid.uuid4().hex[:12]}"}, sandbox={"spare_environments": 0}, **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def keyed(own_database: str, temporal_address: str) -> Iterator[tuple[str, Settings, tuple[str, str]]]:
    """A loopback API without a token, on a database that has an access key."""
    settings = _settings(own_database, temporal_address, api={"key_cache_seconds": KEY_CACHE_SECONDS})
    key = asyncio.run(create_key(settings, "123456789012"))
    with ServerThread(settings) as url:
        yield url, settings, key


@pytest.fixture(scope="module")
def exposed(temporal_address: str) -> Iterator[str]:
    """An API configured to listen beyond loopback (so: a token), without any access key."""

    async def fresh() -> str:
        url = await create_database()
        await asyncio.to_thread(upgrade, url)
        return url

    database = asyncio.run(fresh())
    settings = _settings(database, temporal_address, api={"host": "0.0.0.0", "token": SecretStr(TOKEN)})
    try:
        with ServerThread(settings) as url:
            yield url
    finally:
        asyncio.run(drop_database(database))


def lambda_client(url: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "lambda", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip


def error_code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["Error"]["Code"], refused.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def signed(url: str, method: str, path: str, body: bytes, key: tuple[str, str], **headers: str) -> AWSRequest:
    request = AWSRequest(method=method, url=url + path, data=body, headers=headers)
    SigV4Auth(Credentials(*key), "lambda", "us-east-1").add_auth(request)
    return request


def send(request: AWSRequest, *, body: bytes | None = None, path: str | None = None) -> httpx.Response:
    """Send a signed request as signed, or with its body or path changed after signing."""
    prepared = request.prepare()
    url = prepared.url if path is None else prepared.url.split("/20", 1)[0] + path
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    return httpx.request(
        prepared.method, url, content=prepared.body if body is None else body, headers=headers
    )


def test_a_valid_signature_passes_and_the_account_is_the_keys(
    keyed: tuple[str, Settings, tuple[str, str]],
) -> None:
    url, _, key = keyed
    client = lambda_client(url, *key)
    assert client.list_functions()["Functions"] == []


def test_wrong_secret_unknown_key_and_no_signature_are_refused(
    keyed: tuple[str, Settings, tuple[str, str]],
) -> None:
    url, _, (key_id, secret) = keyed
    assert error_code(lambda_client(url, key_id, secret[:-1] + "x").list_functions) == (
        "InvalidSignatureException", 403,
    )  # fmt: skip
    assert error_code(lambda_client(url, "AKIANOSUCHKEY0000000", secret).list_functions) == (
        "UnrecognizedClientException", 403,
    )  # fmt: skip
    assert error_code(lambda_client(url, "000000000000", "anything").list_functions) == (
        "UnrecognizedClientException", 403,
    )  # fmt: skip
    unsigned = httpx.get(url + "/2015-03-31/functions/")
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert httpx.get(url + "/v1/functions").status_code == 200  # /v1 keeps its own (open, loopback) policy


def test_a_refusal_says_nothing_that_helps_a_guesser(keyed: tuple[str, Settings, tuple[str, str]]) -> None:
    url, _, (key_id, secret) = keyed
    answer = send(signed(url, "GET", "/2015-03-31/functions/", b"", (key_id, secret[:-1] + "x")))
    assert answer.status_code == 403
    text = answer.text.lower()
    assert "canonical" not in text and "string to sign" not in text and secret[:6].lower() not in text
    assert answer.json() == {"Type": "User", "Message": answer.json()["Message"]}


def test_a_tampered_body_path_or_header_is_refused(keyed: tuple[str, Settings, tuple[str, str]]) -> None:
    url, _, key = keyed
    body = b'{"FunctionName": "f", "ReservedConcurrentExecutions": 1}'
    request = signed(url, "PUT", "/2017-10-31/functions/f/concurrency", body, key)
    assert send(request).headers["x-amzn-ErrorType"] == "ResourceNotFoundException"  # signed: it gets in
    tampered = send(request, body=body.replace(b"1}", b"2}"))
    assert (tampered.status_code, tampered.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    moved = send(request, path="/2017-10-31/functions/g/concurrency")
    assert (moved.status_code, moved.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    header = signed(url, "GET", "/2015-03-31/functions/", b"", key, **{"X-Amz-Client-Context": "e30="})
    header.headers["X-Amz-Client-Context"] = "e31="
    assert send(header).headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_a_stale_or_future_date_is_refused(
    keyed: tuple[str, Settings, tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _, key = keyed
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for skew in (-16, 16):
        monkeypatch.setattr(
            botocore.auth, "get_current_datetime", lambda s=skew: now + datetime.timedelta(minutes=s)
        )
        answer = send(signed(url, "GET", "/2015-03-31/functions/", b"", key))
        assert (answer.status_code, answer.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
        assert "expired" in answer.json()["Message"] or "not yet current" in answer.json()["Message"]
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now + datetime.timedelta(minutes=14))
    assert send(signed(url, "GET", "/2015-03-31/functions/", b"", key)).status_code == 200


def test_a_revoked_key_stops_working(keyed: tuple[str, Settings, tuple[str, str]]) -> None:
    url, settings, _ = keyed
    key_id, secret = asyncio.run(create_key(settings, "000000000000"))
    client = lambda_client(url, key_id, secret)
    client.list_functions()
    asyncio.run(revoke_key(settings, key_id))
    time.sleep(KEY_CACHE_SECONDS + 0.5)  # keys are cached in each process
    assert error_code(client.list_functions) == ("UnrecognizedClientException", 403)


def test_off_loopback_every_route_needs_the_token_or_a_verified_signature(exposed: str) -> None:
    assert httpx.get(exposed + "/v1/functions").status_code == 401
    with_token = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(exposed + "/v1/functions", headers=with_token).status_code == 200
    assert httpx.get(exposed + "/2015-03-31/functions/", headers=with_token).status_code == 200
    # no access key exists: no signature can be verified, whatever its key says
    assert error_code(lambda_client(exposed, "000000000000", "test").list_functions) == (
        "UnrecognizedClientException", 403,
    )  # fmt: skip
    unsigned = httpx.get(exposed + "/2015-03-31/functions/")
    assert (unsigned.status_code, unsigned.headers["x-amzn-ErrorType"]) == (
        403,
        "MissingAuthenticationTokenException",
    )
    sfn = boto3.client(
        "stepfunctions", endpoint_url=exposed, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    assert error_code(sfn.list_state_machines) == ("UnrecognizedClientException", 403)


def test_scheduler_is_signed_like_every_aws_api(keyed: tuple[str, Settings, tuple[str, str]]) -> None:
    url, _, (key_id, secret) = keyed

    def scheduler(secret_key: str) -> Any:
        return boto3.client(
            "scheduler", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id,
            aws_secret_access_key=secret_key, config=Config(retries={"max_attempts": 1}),
        )  # fmt: skip

    names = [g["Name"] for g in scheduler(secret).list_schedule_groups()["ScheduleGroups"]]
    assert names == ["default"]
    assert error_code(scheduler(secret[:-1] + "x").list_schedules) == ("InvalidSignatureException", 403)
    unsigned = httpx.get(url + "/schedules")
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
