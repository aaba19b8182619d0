"""Functions calling back (``awsApi``) reach the AWS APIs with credentials of their own, and nothing
more: not the API without the flag, not ``/v1`` (even where it is open, on loopback without a token),
not a request smuggled past the worker's forwarder, not with credentials changed or expired; and
their sandbox holds no operator secret."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from foundation import session_credentials
from foundation.settings import Settings
from tests.integration.aws.callback_kit import FLAG, caller, invoke, lam, served
from tests.integration.aws.lambda_kit import create, unique
from tests.integration.function_kit import fn_settings, requires_bwrap
from tests.security.test_sandbox_secrets import assert_nothing_leaks, scan, worker, worker_secrets
from workers.functions.aws_api import AwsApiAccess
from workers.functions.service import FunctionService

pytestmark = [requires_bwrap]
__all__ = ["caller", "fn_settings", "lam", "served", "worker", "worker_secrets"]

RAW = """import os
import socket


def handler(event, context):
    found = {"variables": sorted(k for k in os.environ if k.startswith("AWS_") and k not in (
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API"))}
    found["socket"] = os.path.exists("/run/lambda/aws.sock")
    for port in event["ports"]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
            found[str(port)] = "connected"
        except OSError as e:
            found[str(port)] = type(e).__name__
    answers = []
    for raw in event.get("send", []):
        try:
            with socket.create_connection(("127.0.0.1", 9002), timeout=5) as s:
                s.sendall(raw.encode("latin-1"))
                s.shutdown(socket.SHUT_WR)
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
            answers.append(got.decode("latin-1"))
        except OSError as e:
            answers.append(type(e).__name__)
    found["answers"] = answers
    return found
"""
TOKEN = session_credentials.TOKEN_PREFIX + "e30"
SIGNED_LOOKING = (
    "Host: 127.0.0.1:9002\r\nAuthorization: AWS4-HMAC-SHA256 Credential=ASIAX/20260101/us-east-1/lambda/"
    f"aws4_request, SignedHeaders=host, Signature={'0' * 64}\r\nX-Amz-Security-Token: {TOKEN}\r\n"
)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_without_the_flag_a_function_has_no_credentials_and_no_way_to_the_api(
    served: tuple[str, Settings], lam: Any
) -> None:
    name = unique("noflag")
    create(lam, name, {"app.py": RAW})
    found = invoke(lam, name, {"ports": [9002, port_of(served[0])]})
    assert found["variables"] == [] and found["socket"] is False
    assert found["9002"] == found[str(port_of(served[0]))] == "ConnectionRefusedError"


def v1_function_exists(url: str, name: str) -> bool:
    return httpx.get(f"{url}/v1/functions/{name}").status_code == 200


def test_the_relay_passes_no_unsigned_call_and_nothing_smuggled(
    served: tuple[str, Settings], lam: Any
) -> None:
    """On a loopback API without a token ``/v1`` is open to the machine's users; a function with the
    flag is not one of them: each of these would create a function through ``/v1`` if it got there."""
    url = served[0]
    name = unique("relay")
    create(lam, name, {"app.py": RAW}, Environment=FLAG, Timeout=60)
    victim = unique("smuggled")
    create_v1 = json.dumps(
        {"name": victim, "runtime": "python3.11", "handler": "a.b", "code": {"files": {"a.py": "x = 1"}}}
    )
    length = f"Content-Length: {len(create_v1)}\r\n\r\n{create_v1}"
    json_type = "Connection: close\r\nContent-Type: application/json"
    v1 = f"POST /v1/functions HTTP/1.1\r\nHost: x\r\n{json_type}\r\n{length}"
    passes = f"POST / HTTP/1.1\r\n{SIGNED_LOOKING}"  # a head the forwarder passes on (the API refuses it)
    attacks = [
        v1,  # straight
        f"{passes}Content-Length: 0\r\n\r\n{v1}",  # after a request that passes
        f"{passes}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n{v1}",
        f"{passes}Content-Length: 5\r\nContent-Length: 0\r\n\r\n{v1}",
        f"{passes}Content-Length : 0\r\n\r\n{v1}",
        f"POST / HTTP/1.1\n{SIGNED_LOOKING.replace(chr(13), '')}Content-Length: 0\n\n{v1}",
        f"POST /2015-03-31/../../v1/functions HTTP/1.1\r\n{SIGNED_LOOKING}{length}",
        f"POST /v1/functions HTTP/1.1\r\n{SIGNED_LOOKING}{length}",
    ]
    found = invoke(lam, name, {"ports": [], "send": attacks})
    for attack, answer in zip(attacks, found["answers"], strict=True):
        assert "HTTP/1.1 403" in answer or "HTTP/1.1 400" in answer, (attack, answer)
        assert '"functionName"' not in answer, (attack, answer)
    assert not v1_function_exists(url, victim)


def signed(
    url: str, method: str, path: str, credentials: dict[str, str], body: bytes = b""
) -> httpx.Response:
    """A request signed (botocore's SigV4) with a function's credentials, sent from outside the sandbox."""
    request = AWSRequest(method=method, url=f"{url}{path}", data=body)
    creds = Credentials(
        credentials["AWS_ACCESS_KEY_ID"],
        credentials["AWS_SECRET_ACCESS_KEY"],
        credentials["AWS_SESSION_TOKEN"],
    )
    SigV4Auth(creds, "lambda", "us-east-1").add_auth(request)
    return httpx.request(method, f"{url}{path}", headers=dict(request.headers), content=body)


def test_a_functions_credentials_open_the_aws_apis_only(
    served: tuple[str, Settings], lam: Any, caller: str
) -> None:
    url = served[0]
    credentials = invoke(lam, caller, {"action": "env"})
    listed = signed(url, "GET", "/2015-03-31/functions/", credentials)
    assert listed.status_code == 200, listed.text
    for path in ("/v1/functions", "/v1/state-machines"):
        refused = signed(url, "GET", path, credentials)
        assert refused.status_code == 403 and "AWS APIs only" in refused.text, refused.text


def _forged(token: str, **changes: Any) -> str:
    encoded = token[len(session_credentials.TOKEN_PREFIX) :]
    doc = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    doc.update(changes)
    return session_credentials.TOKEN_PREFIX + base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def test_changed_credentials_sign_nothing(served: tuple[str, Settings], lam: Any, caller: str) -> None:
    url = served[0]
    credentials = invoke(lam, caller, {"action": "env"})
    token = credentials["AWS_SESSION_TOKEN"]
    later = credentials | {"AWS_SESSION_TOKEN": _forged(token, e=int(time.time()) + 86_400)}
    other = credentials | {"AWS_SESSION_TOKEN": _forged(token, f="someone-else")}
    key = credentials | {"AWS_ACCESS_KEY_ID": "ASIA" + "A" * 16}
    for forged, code in ((later, "InvalidSignatureException"), (other, "InvalidSignatureException"),
                         (key, "UnrecognizedClientException")):  # fmt: skip
        refused = signed(url, "GET", "/2015-03-31/functions/", forged)
        assert refused.status_code == 403 and refused.headers.get("x-amzn-errortype") == code, refused.text


def test_expired_credentials_are_refused(served: tuple[str, Settings], lam: Any, caller: str) -> None:
    url, settings = served
    issued = AwsApiAccess.from_settings(settings).issue(caller, "$LATEST", int(time.time()) - 1)
    expired = {
        "AWS_ACCESS_KEY_ID": issued.access_key_id, "AWS_SECRET_ACCESS_KEY": issued.secret_access_key,
        "AWS_SESSION_TOKEN": issued.session_token,
    }  # fmt: skip
    refused = signed(url, "GET", "/2015-03-31/functions/", expired)
    assert refused.status_code == 403 and refused.headers.get("x-amzn-errortype") == "ExpiredTokenException"
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1).strftime("%Y-%m-%dT%H:%M:%SZ")
    from_inside = invoke(  # botocore in the sandbox, told they expire later, sends them anyway
        lam, caller, {"action": "with", "credentials": expired | {"AWS_CREDENTIAL_EXPIRATION": later}}
    )
    assert from_inside == "ExpiredTokenException"


async def test_an_aws_api_sandbox_holds_no_operator_secret(
    worker: FunctionService, worker_secrets: dict[str, str]
) -> None:
    """The probe of ``test_sandbox_secrets`` in a sandbox with credentials, cold started and claimed."""
    assert_nothing_leaks(await scan(worker, worker_secrets, aws_api=True))
    assert_nothing_leaks(
        await scan(worker, worker_secrets, aws_api=True, environment={"PYTHONHASHSEED": "0"})
    )
