"""Layer version policies through unmodified boto3 against a served Stepline:
AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission with Lambda's
statement and policy shapes, revision ids and errors; a signed layer shows its signing profile, and
a function under code signing refuses an unsigned layer with CodeVerificationFailedException."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from foundation import code_signatures
from tests.integration.aws.lambda_kit import ROLE, checked, error_of, lam, signing_profile, unique, zipped
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]


def test_layer_version_permissions(lam: Any) -> None:
    name = unique("shared")
    content = {"ZipFile": zipped({"python/x.py": "X = 1\n"})}
    layer = checked(lam, "PublishLayerVersion", LayerName=name, Content=content)
    arn = layer["LayerVersionArn"]
    assert "SigningProfileVersionArn" not in layer["Content"]

    code, status, message = error_of(lam.get_layer_version_policy, LayerName=name, VersionNumber=1)
    assert (code, status) == ("ResourceNotFoundException", 404) and "No policy" in message

    added = checked(
        lam, "AddLayerVersionPermission", LayerName=name, VersionNumber=1, StatementId="xaccount",
        Action="lambda:GetLayerVersion", Principal="210987654321",
    )  # fmt: skip
    assert json.loads(added["Statement"]) == {
        "Sid": "xaccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
        "Action": "lambda:GetLayerVersion", "Resource": arn,
    }  # fmt: skip
    first = added["RevisionId"]
    org = checked(
        lam, "AddLayerVersionPermission", LayerName=layer["LayerArn"], VersionNumber=1, StatementId="org",
        Action="lambda:GetLayerVersion", Principal="*", OrganizationId="o-t194hfs8cz", RevisionId=first,
    )  # fmt: skip
    assert org["RevisionId"] != first
    policy = checked(lam, "GetLayerVersionPolicy", LayerName=name, VersionNumber=1)
    assert policy["RevisionId"] == org["RevisionId"]
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17" and document["Id"] == "default"
    assert [s["Sid"] for s in document["Statement"]] == ["xaccount", "org"]
    assert document["Statement"][1]["Principal"] == "*"
    assert document["Statement"][1]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-t194hfs8cz"}}

    taken = error_of(
        lam.add_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="org",
        Action="lambda:GetLayerVersion", Principal="*",
    )  # fmt: skip
    assert taken[:2] == ("ResourceConflictException", 409) and "already exists" in taken[2]
    stale = error_of(
        lam.remove_layer_version_permission,
        LayerName=name,
        VersionNumber=1,
        StatementId="org",
        RevisionId=first,
    )
    assert stale[:2] == ("PreconditionFailedException", 412)
    wrong_action = error_of(
        lam.add_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="a",
        Action="lambda:InvokeFunction", Principal="*",
    )  # fmt: skip
    assert wrong_action[:2] == ("ValidationException", 400)  # (the model's pattern, as AWS checks it)
    missing = error_of(
        lam.add_layer_version_permission, LayerName=name, VersionNumber=9, StatementId="a",
        Action="lambda:GetLayerVersion", Principal="*",
    )  # fmt: skip
    assert missing[:2] == ("ResourceNotFoundException", 404)

    checked(lam, "RemoveLayerVersionPermission", LayerName=name, VersionNumber=1, StatementId="org")
    gone = error_of(lam.remove_layer_version_permission, LayerName=name, VersionNumber=1, StatementId="org")
    assert gone[:2] == ("ResourceNotFoundException", 404)
    checked(lam, "RemoveLayerVersionPermission", LayerName=name, VersionNumber=1, StatementId="xaccount")
    assert (
        error_of(lam.get_layer_version_policy, LayerName=name, VersionNumber=1)[0]
        == "ResourceNotFoundException"
    )

    big = [f"s{i:03d}" for i in range(200)]  # Lambda's 20 KB policy limit
    refused = None
    for sid in big:
        try:
            lam.add_layer_version_permission(
                LayerName=name,
                VersionNumber=1,
                StatementId=sid,
                Action="lambda:GetLayerVersion",
                Principal="*",
            )
        except lam.exceptions.PolicyLengthExceededException as exc:
            refused = exc.response["Error"]["Message"]
            break
    assert refused is not None and "bigger than the limit (20480)" in refused


def test_code_signing_covers_layers_on_the_lambda_api(lam: Any, aws_url: str) -> None:
    key, profile = signing_profile(aws_url)
    csc = checked(
        lam, "CreateCodeSigningConfig", AllowedPublishers={"SigningProfileVersionArns": [profile]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]  # fmt: skip
    layer_zip = zipped({"python/helper.py": "def greet():\n    return 'signed layer'\n"})
    signed_layer = checked(
        lam, "PublishLayerVersion", LayerName=unique("signed"),
        Content={"ZipFile": code_signatures.sign(layer_zip, key, profile, validity=timedelta(days=1))},
    )  # fmt: skip
    assert signed_layer["Content"]["SigningProfileVersionArn"] == profile
    unsigned_layer = checked(
        lam, "PublishLayerVersion", LayerName=unique("plain"), Content={"ZipFile": layer_zip}
    )
    app = zipped({"app.py": "import helper\n\ndef handler(event, context):\n    return helper.greet()\n"})
    base = {
        "Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE, "CodeSigningConfigArn": csc,
        "Code": {"ZipFile": code_signatures.sign(app, key, profile, validity=timedelta(days=1))},
    }  # fmt: skip
    code, status, message = error_of(
        lam.create_function, FunctionName=unique("u"), Layers=[unsigned_layer["LayerVersionArn"]], **base
    )
    assert (code, status) == ("CodeVerificationFailedException", 400)
    assert unsigned_layer["LayerVersionArn"] in message
    name = unique("signed-fn")
    checked(lam, "CreateFunction", FunctionName=name, Layers=[signed_layer["LayerVersionArn"]], **base)
    assert json.loads(checked(lam, "Invoke", FunctionName=name, Payload=b"{}")["Payload"]) == "signed layer"
