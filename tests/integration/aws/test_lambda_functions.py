"""Lambda's function operations through unmodified boto3 against a served Stepline: create, read,
update, list with paging, versions, delete, the SDK waiters and the errors AWS gives, every answer
checked against its operation's output shape."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import boto3
import httpx
import pytest

from api.aws.lambda_config import access_point_arn
from tests.integration.aws.lambda_kit import ECHO, ROLE, checked, create, error_of, lam, unique, zipped
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]


def test_create_get_update_delete(lam: Any) -> None:
    name = unique("crud")
    package = zipped({"app.py": ECHO})
    created = create(
        lam, name, Environment={"Variables": {"GREETING": "hi"}}, MemorySize=256, Timeout=10,
        EphemeralStorage={"Size": 1024}, Description="first", Tags={"team": "a"},
        TracingConfig={"Mode": "PassThrough"}, Architectures=["x86_64"],
    )  # fmt: skip
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert (created["Runtime"], created["Handler"], created["Version"]) == (
        "python3.11",
        "app.handler",
        "$LATEST",
    )
    assert (created["State"], created["LastUpdateStatus"], created["PackageType"]) == (
        "Active",
        "Successful",
        "Zip",
    )
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert created["CodeSize"] == len(package)
    assert (created["MemorySize"], created["Timeout"], created["EphemeralStorage"]) == (
        256,
        10,
        {"Size": 1024},
    )
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}

    got = checked(lam, "GetFunction", FunctionName=name)
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert got["Tags"] == {"team": "a"}
    by_arn = checked(lam, "GetFunctionConfiguration", FunctionName=created["FunctionArn"])
    assert by_arn["FunctionName"] == name

    updated = checked(
        lam, "UpdateFunctionConfiguration", FunctionName=name, MemorySize=512, Description="second",
        Environment={"Variables": {"GREETING": "hello", "OTHER": "1"}}, RevisionId=created["RevisionId"],
    )  # fmt: skip
    assert (updated["MemorySize"], updated["Description"]) == (512, "second")
    assert updated["RevisionId"] != created["RevisionId"]
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)

    new_code = zipped({"app.py": ECHO.replace("'echo'", "'echo2'")})
    published = checked(lam, "UpdateFunctionCode", FunctionName=name, ZipFile=new_code, Publish=True)
    assert published["Version"] == "1"
    assert published["FunctionArn"].endswith(f"{name}:1")
    assert published["CodeSha256"] == base64.b64encode(hashlib.sha256(new_code).digest()).decode()
    again = checked(
        lam, "PublishVersion", FunctionName=name, Description="v2", CodeSha256=published["CodeSha256"]
    )
    assert (again["Version"], again["Description"]) == ("2", "v2")
    versions = checked(lam, "ListVersionsByFunction", FunctionName=name)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1", "2"]
    assert checked(lam, "GetFunction", FunctionName=name, Qualifier="1")["Configuration"]["Version"] == "1"
    assert checked(lam, "GetFunction", FunctionName=f"{name}:2")["Configuration"]["Description"] == "v2"

    lam.delete_function(FunctionName=name, Qualifier="1")
    assert error_of(lam.get_function, FunctionName=name, Qualifier="1")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == [
        "$LATEST",
        "2",
    ]
    code, status, message = error_of(lam.delete_function, FunctionName=name, Qualifier="$LATEST")
    assert (code, status) == ("InvalidParameterValueException", 400) and "$LATEST" in message

    deleted = lam.delete_function(FunctionName=name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    code, status, message = error_of(lam.get_function, FunctionName=name)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"
    # a function created again under the name starts without the old one's tags
    create(lam, name)
    assert lam.list_tags(Resource=created["FunctionArn"])["Tags"] == {}
    lam.delete_function(FunctionName=name)


def test_list_functions_pages_with_markers(lam: Any) -> None:
    prefix = unique("page")
    names = sorted(f"{prefix}-{i}" for i in range(7))
    for name in names:
        create(lam, name)
    seen: list[str] = []
    marker: dict[str, str] = {}
    pages = 0
    while True:
        page = checked(lam, "ListFunctions", MaxItems=3, **marker)
        assert len(page["Functions"]) <= 3
        seen += [f["FunctionName"] for f in page["Functions"]]
        pages += 1
        if "NextMarker" not in page:
            break
        marker = {"Marker": page["NextMarker"]}
    assert [n for n in seen if n.startswith(prefix)] == names
    assert pages >= 3
    paginated = [
        f["FunctionName"] for p in lam.get_paginator("list_functions").paginate() for f in p["Functions"]
    ]
    assert [n for n in paginated if n.startswith(prefix)] == names
    lam.publish_version(FunctionName=names[0])
    every = [
        (f["FunctionName"], f["Version"]) for f in lam.list_functions(FunctionVersion="ALL")["Functions"]
    ]
    assert (names[0], "1") in every and (names[0], "$LATEST") in every
    for name in names:
        lam.delete_function(FunctionName=name)
    assert error_of(lam.list_functions, Marker="not-a-marker")[:2] == ("InvalidParameterValueException", 400)


def test_the_sdk_waiters_return(lam: Any) -> None:
    name = unique("wait")
    create(lam, name)
    for waiter in ("function_exists", "function_active_v2", "function_active", "function_updated_v2"):
        lam.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    lam.update_function_configuration(FunctionName=name, Timeout=5)
    lam.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    lam.delete_function(FunctionName=name)


def test_runtimes_by_their_aws_names(lam: Any) -> None:
    node = create(
        lam, unique("node"), {"index.js": "exports.handler = async (e) => ({node: e});"},
        Runtime="nodejs20.x", Handler="index.handler",
    )  # fmt: skip
    assert node["Runtime"] == "nodejs20.x"
    bootstrap = "#!/bin/sh\nexit 0\n"
    provided = create(lam, unique("prov"), {"bootstrap": bootstrap}, Runtime="provided.al2023", Handler="x")
    assert provided["Runtime"] == "provided.al2023"
    code, status, message = error_of(create, lam, unique("old"), Runtime="python3.9")
    assert (code, status) == ("InvalidParameterValueException", 400) and "python3.9" in message
    code, _, message = error_of(create, lam, unique("java"), Runtime="java21")
    assert code == "InvalidParameterValueException" and "Supported runtimes" in message
    for config in (node, provided):
        lam.delete_function(FunctionName=config["FunctionName"])


def test_bad_requests_get_awss_errors(lam: Any) -> None:
    name = unique("bad")
    create(lam, name)
    assert error_of(create, lam, name)[:2] == ("ResourceConflictException", 409)
    code, status, message = error_of(create, lam, "has space")
    assert (code, status) == ("ValidationException", 400) and "FunctionName" in message
    broken = error_of(lam.create_function, FunctionName=unique("zip"), Runtime="python3.11", Role=ROLE,
                      Handler="app.handler", Code={"ZipFile": b"not a zip"})  # fmt: skip
    assert broken[:2] == ("InvalidParameterValueException", 400)
    no_dot = error_of(create, lam, unique("handler"), Handler="nodot")
    assert no_dot[0] == "InvalidParameterValueException" and "handler" in no_dot[2].lower()
    layers = error_of(
        create, lam, unique("layer"), Layers=["arn:aws:lambda:us-east-1:000000000000:layer:l:1"]
    )
    assert layers[0] == "InvalidParameterValueException" and "does not exist" in layers[2]  # no such layer
    s3 = error_of(lam.create_function, FunctionName=unique("s3"), Runtime="python3.11", Role=ROLE,
                  Handler="app.handler", Code={"S3Bucket": "bucket", "S3Key": "key"})  # fmt: skip
    assert s3[0] == "InvalidParameterValueException" and "S3Bucket" in s3[2]
    over_model = error_of(
        create, lam, unique("mem"), MemorySize=40000
    )  # the model's maximum (botocore leaves it)
    assert over_model[:2] == ("ValidationException", 400) and "MemorySize" in over_model[2]
    over_stepline = error_of(create, lam, unique("mem"), MemorySize=20000)  # Stepline's own limit (10,240 MB)
    assert over_stepline[:2] == ("InvalidParameterValueException", 400) and "MemorySize" in over_stepline[2]
    too_long = error_of(create, lam, unique("time"), Timeout=1000)
    assert too_long[:2] == ("InvalidParameterValueException", 400) and "Timeout" in too_long[2]
    stale = error_of(lam.update_function_configuration, FunctionName=name, Timeout=4, RevisionId="stale")
    assert stale[:2] == ("PreconditionFailedException", 412)
    wrong_sha = error_of(lam.publish_version, FunctionName=name, CodeSha256="AAAA")
    assert wrong_sha[0] == "InvalidParameterValueException"
    for call in (lam.get_function, lam.get_function_configuration, lam.delete_function, lam.publish_version):
        assert error_of(call, FunctionName=unique("missing"))[:2] == ("ResourceNotFoundException", 404)
    reserved = error_of(
        lam.update_function_configuration, FunctionName=name, Environment={"Variables": {"AWS_REGION": "x"}}
    )
    assert reserved[0] == "InvalidParameterValueException" and "AWS_REGION" in reserved[2]
    mismatch = error_of(lam.get_function, FunctionName=f"{name}:1", Qualifier="2")
    assert mismatch[0] == "InvalidParameterValueException"
    lam.delete_function(FunctionName=name)


def test_operations_stepline_lacks_say_so_and_unknown_paths_are_not_operations(
    lam: Any, aws_url: str
) -> None:
    code, status, message = error_of(lam.get_capacity_provider, CapacityProviderName="f")
    assert (code, status) == ("UnsupportedOperation", 400) and message.startswith(
        "GetCapacityProvider is not supported"
    )
    assert error_of(lam.list_capacity_providers)[:2] == ("UnsupportedOperation", 400)
    unknown = httpx.get(aws_url + "/2015-03-31/no-such-thing")
    assert (unknown.status_code, unknown.headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    assert unknown.json()["Type"] == "User"


def test_file_system_configs_name_stepline_access_points(lam: Any, aws_url: str) -> None:
    fs = unique("fs")
    assert httpx.post(aws_url + "/v1/file-systems", json={"name": fs}).status_code == 201
    point = {"name": "tenant", "rootDirectory": "/tenant", "posixUser": {"uid": 1000, "gid": 1000}}
    assert httpx.post(aws_url + f"/v1/file-systems/{fs}/access-points", json=point).status_code == 201
    arn = access_point_arn("us-east-1", fs, "tenant")
    writer = (
        "import os\n\ndef handler(event, context):\n    path = '/mnt/shared/' + event['file']\n"
        "    if 'text' in event:\n        open(path, 'w').write(event['text'])\n"
        "    return open(path).read()\n"
    )
    name = unique("efs")
    created = create(
        lam, name, {"app.py": writer}, FileSystemConfigs=[{"Arn": arn, "LocalMountPath": "/mnt/shared"}]
    )
    assert created["FileSystemConfigs"] == [{"Arn": arn, "LocalMountPath": "/mnt/shared"}]
    wrote = lam.invoke(FunctionName=name, Payload=json.dumps({"file": "a.txt", "text": "kept"}))
    assert "FunctionError" not in wrote, wrote["Payload"].read()
    assert json.loads(wrote["Payload"].read()) == "kept"
    read = lam.invoke(FunctionName=name, Payload=json.dumps({"file": "a.txt"}))
    assert json.loads(read["Payload"].read()) == "kept"
    unknown = arn[:-5] + "00000"
    bad = error_of(
        create, lam, unique("efs"), FileSystemConfigs=[{"Arn": unknown, "LocalMountPath": "/mnt/x"}]
    )
    assert bad[0] == "InvalidParameterValueException" and unknown in bad[2]
    lam.delete_function(FunctionName=name)


def test_open_mode_takes_any_well_formed_signature_but_not_a_malformed_one(aws_url: str) -> None:
    """A loopback API without a token or access keys (this module's): LocalStack's rules."""
    someone = boto3.client(
        "lambda", endpoint_url=aws_url, region_name="eu-west-1", aws_access_key_id="123456789012",
        aws_secret_access_key="whatever",
    )  # fmt: skip
    assert "Functions" in someone.list_functions()
    malformed = httpx.get(
        aws_url + "/2015-03-31/functions/", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}
    )
    assert (malformed.status_code, malformed.headers["x-amzn-ErrorType"]) == (
        403,
        "IncompleteSignatureException",
    )
    assert httpx.get(aws_url + "/2015-03-31/functions/").status_code == 200  # unsigned: open, as /v1 is
