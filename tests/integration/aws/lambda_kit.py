"""Helpers for the Lambda contract tests: packages, a boto3 Lambda client, and a checked call."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.integration.aws.conftest import client
from tests.integration.aws.contract import check_response

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ECHO = """import json


def handler(event, context):
    print("echo", json.dumps(event))
    return {"echo": event}
"""


def zipped(files: Mapping[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name == "bootstrap" else 0o644) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def lam(aws_url: str) -> Any:
    """An unmodified boto3 Lambda client pointed at the served API."""
    return client(aws_url, "lambda")


def checked(lam: Any, operation: str, **params: Any) -> dict[str, Any]:
    """Call ``operation`` (its Python name is derived); its answer (without ResponseMetadata), checked
    against the operation's output shape."""
    method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
    answer = getattr(lam, method)(**params)
    if "Payload" in answer and hasattr(answer["Payload"], "read"):
        answer["Payload"] = answer["Payload"].read()
    return check_response("lambda", operation, answer)


def create(
    lam: Any, name: str, files: Mapping[str, str | bytes] | None = None, **params: Any
) -> dict[str, Any]:
    """CreateFunction with the echo handler unless told otherwise."""
    defaults: dict[str, Any] = {"Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE}
    code = {"ZipFile": zipped(files or {"app.py": ECHO})}
    return checked(lam, "CreateFunction", FunctionName=name, Code=code, **(defaults | params))


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of the error a call raises."""
    with pytest.raises(ClientError) as failed:
        call(*args, **kwargs)
    response = failed.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def signing_profile(aws_url: str) -> tuple[ed25519.Ed25519PrivateKey, str]:
    """A new key and the version ARN of a signing profile (``/v1``) holding its public half."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    made = httpx.post(
        f"{aws_url}/v1/signing-profiles",
        json={"name": unique("p").replace("-", "_"), "publicMaterial": pem.decode()},
    )
    assert made.status_code == 201, made.text
    return key, str(made.json()["profileVersionArn"])
