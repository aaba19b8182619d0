"""Lambda's code-signing operations through unmodified boto3 against a served Stepline (the signing
profile made on /v1, as AWS Signer's are elsewhere): configurations, a function naming one, and
CreateFunction/UpdateFunctionCode refused with Lambda's errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from foundation import code_signatures
from tests.integration.aws.lambda_kit import ROLE, checked, error_of, lam, signing_profile, unique, zipped
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]
APP = {"app.py": "def handler(event, context):\n    return 'signed'\n"}


def test_code_signing_configs_and_functions(lam: Any, aws_url: str) -> None:
    key, profile = signing_profile(aws_url)

    created = checked(
        lam, "CreateCodeSigningConfig", Description="ours",
        AllowedPublishers={"SigningProfileVersionArns": [profile]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]  # fmt: skip
    arn = created["CodeSigningConfigArn"]
    assert created["CodeSigningConfigId"].startswith("csc-") and arn.endswith(created["CodeSigningConfigId"])
    assert (
        checked(lam, "GetCodeSigningConfig", CodeSigningConfigArn=arn)["CodeSigningConfig"]["Description"]
        == "ours"
    )
    assert any(
        c["CodeSigningConfigArn"] == arn for c in checked(lam, "ListCodeSigningConfigs")["CodeSigningConfigs"]
    )

    signed = code_signatures.sign(zipped(APP), key, profile, validity=timedelta(days=1))
    name = unique("signed")
    base = {"Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE, "CodeSigningConfigArn": arn}
    function = checked(lam, "CreateFunction", FunctionName=name, Code={"ZipFile": signed}, **base)
    assert function["SigningProfileVersionArn"] == profile
    assert checked(lam, "GetFunctionCodeSigningConfig", FunctionName=name)["CodeSigningConfigArn"] == arn
    assert checked(lam, "ListFunctionsByCodeSigningConfig", CodeSigningConfigArn=arn)["FunctionArns"][
        0
    ].endswith(name)

    code, status, _ = error_of(
        lam.create_function, FunctionName=unique("u"), Code={"ZipFile": zipped(APP)}, **base
    )
    assert (code, status) == ("CodeVerificationFailedException", 400)
    unsigned, comment = code_signatures.split(signed)
    tampered = code_signatures.with_comment(unsigned.replace(b"'signed'", b"'hacked'"), comment)
    code, status, _ = error_of(lam.update_function_code, FunctionName=name, ZipFile=tampered)
    assert (code, status) == ("InvalidCodeSignatureException", 400)
    code, status, _ = error_of(lam.delete_code_signing_config, CodeSigningConfigArn=arn)
    assert (code, status) == ("ResourceConflictException", 409)

    checked(
        lam,
        "UpdateCodeSigningConfig",
        CodeSigningConfigArn=arn,
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"},
    )
    assert (
        checked(lam, "UpdateFunctionCode", FunctionName=name, ZipFile=zipped(APP))["FunctionName"] == name
    )  # Warn
    checked(lam, "DeleteFunctionCodeSigningConfig", FunctionName=name)
    checked(lam, "DeleteCodeSigningConfig", CodeSigningConfigArn=arn)
    code, status, _ = error_of(lam.get_code_signing_config, CodeSigningConfigArn=arn)
    assert (code, status) == ("ResourceNotFoundException", 404)
    code, status, _ = error_of(
        lam.put_function_code_signing_config, FunctionName=name, CodeSigningConfigArn=arn
    )
    assert (code, status) == ("CodeSigningConfigNotFoundException", 404)
