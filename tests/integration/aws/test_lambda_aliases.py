"""Lambda's alias operations through unmodified boto3 against a served Stepline: the alias's life,
weighted routing and ExecutedVersion, provisioned concurrency on an alias, and Lambda's errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique, zipped
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]

APP = "def handler(event, context):\n    return {{'code': {code!r}, 'version': context.function_version}}\n"


@pytest.fixture(scope="module")
def function(lam: Any) -> str:
    """A function with versions 1 and 2."""
    name = unique("alias")
    create(lam, name, {"app.py": APP.format(code="one")}, Publish=True)
    checked(lam, "UpdateFunctionCode", FunctionName=name, ZipFile=zipped({"app.py": APP.format(code="two")}))
    checked(lam, "PublishVersion", FunctionName=name)
    return name


def test_alias_lifecycle(lam: Any, function: str) -> None:
    alias = checked(
        lam, "CreateAlias", FunctionName=function, Name="live", FunctionVersion="1", Description="d"
    )
    assert alias["AliasArn"].endswith(f":function:{function}:live") and alias["FunctionVersion"] == "1"
    answer = checked(lam, "Invoke", FunctionName=function, Qualifier="live", Payload=b"{}")
    assert answer["ExecutedVersion"] == "1" and b'"one"' in answer["Payload"]
    arn_answer = checked(lam, "Invoke", FunctionName=alias["AliasArn"], Payload=b"{}")
    assert arn_answer["ExecutedVersion"] == "1"

    routed = checked(
        lam, "UpdateAlias", FunctionName=function, Name="live", RevisionId=alias["RevisionId"],
        RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}},
    )  # fmt: skip
    assert routed["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 1.0}}
    answer = checked(lam, "Invoke", FunctionName=function, Qualifier="live", Payload=b"{}")
    assert answer["ExecutedVersion"] == "2" and b'"two"' in answer["Payload"]  # all of it to version 2

    code, status, _ = error_of(
        lam.update_alias,
        FunctionName=function,
        Name="live",
        FunctionVersion="2",
        RevisionId=alias["RevisionId"],
    )
    assert (code, status) == ("PreconditionFailedException", 412)
    assert checked(lam, "GetAlias", FunctionName=function, Name="live")["RevisionId"] == routed["RevisionId"]
    listed = checked(lam, "ListAliases", FunctionName=function)["Aliases"]
    assert [a["Name"] for a in listed] == ["live"]
    assert checked(lam, "ListAliases", FunctionName=function, FunctionVersion="2")["Aliases"] == []

    code, status, message = error_of(lam.delete_function, FunctionName=function, Qualifier="1")
    assert (code, status) == ("ResourceConflictException", 409) and "live" in message

    got = checked(lam, "GetFunction", FunctionName=function, Qualifier="live")
    assert got["Configuration"]["Version"] == "1"  # the version the alias points at
    checked(
        lam, "AddPermission", FunctionName=function, Qualifier="live", StatementId="s1",
        Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
    )  # fmt: skip
    assert "s1" in checked(lam, "GetPolicy", FunctionName=function, Qualifier="live")["Policy"]
    checked(lam, "DeleteAlias", FunctionName=function, Name="live")
    code, status, message = error_of(lam.get_alias, FunctionName=function, Name="live")
    assert (code, status) == ("ResourceNotFoundException", 404) and message.endswith(f"{function}:live")


def test_alias_errors(lam: Any, function: str) -> None:
    checked(lam, "CreateAlias", FunctionName=function, Name="taken", FunctionVersion="1")
    assert error_of(lam.create_alias, FunctionName=function, Name="taken", FunctionVersion="1")[:2] == (
        "ResourceConflictException", 409,
    )  # fmt: skip
    assert error_of(lam.create_alias, FunctionName=function, Name="x", FunctionVersion="7")[:2] == (
        "ResourceNotFoundException", 404,
    )  # fmt: skip
    weights = {"AdditionalVersionWeights": {"2": 0.5, "1": 0.1}}
    code, _, message = error_of(
        lam.create_alias, FunctionName=function, Name="y", FunctionVersion="1", RoutingConfig=weights
    )
    assert code == "InvalidParameterValueException" and "cannot be greater than 1" in message
    assert error_of(lam.create_alias, FunctionName=function, Name="123", FunctionVersion="1")[0] in (
        "ValidationException", "InvalidParameterValueException",
    )  # fmt: skip


def test_provisioned_concurrency_on_an_alias(lam: Any, function: str) -> None:
    checked(lam, "CreateAlias", FunctionName=function, Name="warm", FunctionVersion="2")
    put = checked(
        lam, "PutProvisionedConcurrencyConfig", FunctionName=function, Qualifier="warm",
        ProvisionedConcurrentExecutions=1,
    )  # fmt: skip
    assert put["RequestedProvisionedConcurrentExecutions"] == 1
    got = checked(lam, "GetProvisionedConcurrencyConfig", FunctionName=function, Qualifier="warm")
    assert got["Status"] == "READY"
    listed = checked(lam, "ListProvisionedConcurrencyConfigs", FunctionName=function)
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed["ProvisionedConcurrencyConfigs"]] == ["warm"]
    checked(lam, "DeleteProvisionedConcurrencyConfig", FunctionName=function, Qualifier="warm")
    code, status, _ = error_of(
        lam.get_provisioned_concurrency_config, FunctionName=function, Qualifier="warm"
    )
    assert (code, status) == ("ProvisionedConcurrencyConfigNotFoundException", 404)
