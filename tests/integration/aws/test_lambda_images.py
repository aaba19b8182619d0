"""Container-image functions through unmodified boto3: CreateFunction with ``PackageType: Image``,
``Code.ImageUri`` (ECR-style) and ``ImageConfig``; GetFunction's Code and ImageConfigResponse;
UpdateFunctionCode to another image; Invoke; and the errors Lambda gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import image_builder as build
from tests.integration.aws.lambda_kit import ROLE, checked, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def images(aws_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two images imported over /v1: ``hello:v1`` (OCI layout) and ``hello:v2`` (docker save)."""
    folder = tmp_path_factory.mktemp("images")
    v2 = build.python_image(config={"Env": ["PATH=/usr/bin:/bin", "VERSION=two"]})
    archives = {
        "hello:v1": build.write_tar(build.layout_files(build.python_image(), "hello:v1"), folder / "v1.tar"),
        "hello:v2": build.write_tar(build.docker_save_files(v2, "hello:v2"), folder / "v2.tar"),
    }
    digests = {}
    for name, path in archives.items():
        answer = httpx.post(f"{aws_url}/v1/images", content=Path(path).read_bytes(), timeout=60)
        assert answer.status_code == 201, answer.text
        assert name in answer.json()["names"]  # (with any other name an earlier test gave the same image)
        digests[name] = answer.json()["digest"]
    return digests


def invoke(lam: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = checked(lam, "Invoke", FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in answer, answer["Payload"]
    found: dict[str, Any] = json.loads(answer["Payload"])
    return found


def test_an_image_function_is_created_run_and_updated(lam: Any, images: dict[str, str]) -> None:
    name = unique("image")
    created = checked(
        lam, "CreateFunction", FunctionName=name, Role=ROLE, PackageType="Image",
        Code={"ImageUri": f"{ECR}/hello:v1"}, ImageConfig={"WorkingDirectory": "/app"},
        Environment={"Variables": {"SHARED": "function"}},
    )  # fmt: skip
    assert created["PackageType"] == "Image" and "Runtime" not in created and "Handler" not in created
    assert created["ImageConfigResponse"] == {"ImageConfig": {"WorkingDirectory": "/app"}}
    got = checked(lam, "GetFunction", FunctionName=name)
    assert got["Code"]["ImageUri"] == f"{ECR}/hello:v1"
    assert got["Code"]["ResolvedImageUri"] == f"{ECR}/hello@{images['hello:v1']}"
    seen = invoke(lam, name, {"env": ["SHARED", "VERSION", "AWS_LAMBDA_FUNCTION_VERSION"]})
    assert seen["cwd"] == "/app"
    assert seen["env"] == {"SHARED": "function", "VERSION": None, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"}

    checked(lam, "UpdateFunctionCode", FunctionName=name, ImageUri=f"{ECR}/hello:v2")
    assert invoke(lam, name, {"env": ["VERSION"]})["env"] == {"VERSION": "two"}
    update = {"FunctionName": name, "ImageConfig": {"Command": ["/app/runtime.py"]}}  # not executable
    checked(lam, "UpdateFunctionConfiguration", **update)
    failed = checked(lam, "Invoke", FunctionName=name, Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"]) == {
        "errorType": "Runtime.InvalidEntrypoint", "errorMessage": "/app/runtime.py: Permission denied"
    }  # fmt: skip
    update["ImageConfig"] = {"Command": ["/usr/bin/python3", "/app/runtime.py"]}
    checked(lam, "UpdateFunctionConfiguration", **update)
    assert invoke(lam, name, {})["cwd"] == "/work"  # the new ImageConfig replaced the old one
    checked(lam, "DeleteFunction", FunctionName=name)


def test_image_requests_lambda_refuses_are_refused(lam: Any, images: dict[str, str]) -> None:
    base = {"Role": ROLE, "PackageType": "Image"}
    code, status, message = error_of(
        lam.create_function, FunctionName=unique("image"), Code={"ImageUri": f"{ECR}/nothing:here"}, **base
    )
    assert (code, status) == (
        "InvalidParameterValueException",
        400,
    ) and "nothing:here does not exist" in message
    code, status, message = error_of(
        lam.create_function, FunctionName=unique("image"), Code={"ImageUri": f"{ECR}/hello:v1"},
        Runtime="python3.11", **base,
    )  # fmt: skip
    assert (code, status) == ("InvalidParameterValueException", 400) and "PackageType is Image" in message
    code, _, message = error_of(
        lam.create_function, FunctionName=unique("image"), Code={"ImageUri": "not a uri"}, **base
    )
    assert code == "InvalidParameterValueException" and "not a uri" in message
