"""Lambda's concurrency, provisioned concurrency, tags, policy and account settings through unmodified
boto3 against a served Stepline, every answer checked against its operation's output shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.aws.lambda_kit import checked, create, error_of, lam, unique
from tests.integration.function_kit import requires_bwrap

pytestmark = [pytest.mark.integration, requires_bwrap]
__all__ = ["lam"]


@pytest.fixture
def function(lam: Any) -> Any:
    name = unique("set")
    arn = create(lam, name)["FunctionArn"]
    yield name, arn
    lam.delete_function(FunctionName=name)


def test_reserved_concurrency(lam: Any, function: tuple[str, str]) -> None:
    name, _ = function
    assert checked(lam, "GetFunctionConcurrency", FunctionName=name) == {}
    put = checked(lam, "PutFunctionConcurrency", FunctionName=name, ReservedConcurrentExecutions=3)
    assert put["ReservedConcurrentExecutions"] == 3
    assert checked(lam, "GetFunctionConcurrency", FunctionName=name)["ReservedConcurrentExecutions"] == 3
    assert checked(lam, "GetFunction", FunctionName=name)["Concurrency"] == {
        "ReservedConcurrentExecutions": 3
    }
    checked(lam, "DeleteFunctionConcurrency", FunctionName=name)
    assert checked(lam, "GetFunctionConcurrency", FunctionName=name) == {}
    missing = error_of(
        lam.put_function_concurrency, FunctionName=unique("none"), ReservedConcurrentExecutions=1
    )
    assert missing[:2] == ("ResourceNotFoundException", 404)


def test_provisioned_concurrency_for_latest(lam: Any, function: tuple[str, str]) -> None:
    name, arn = function
    none = error_of(lam.get_provisioned_concurrency_config, FunctionName=name, Qualifier="$LATEST")
    assert none[:2] == ("ProvisionedConcurrencyConfigNotFoundException", 404)
    assert (
        checked(lam, "ListProvisionedConcurrencyConfigs", FunctionName=name)["ProvisionedConcurrencyConfigs"]
        == []
    )
    put = checked(
        lam, "PutProvisionedConcurrencyConfig", FunctionName=name, Qualifier="$LATEST",
        ProvisionedConcurrentExecutions=1,
    )  # fmt: skip
    assert (put["RequestedProvisionedConcurrentExecutions"], put["Status"]) == (1, "IN_PROGRESS")
    got = checked(lam, "GetProvisionedConcurrencyConfig", FunctionName=name, Qualifier="$LATEST")
    assert (got["RequestedProvisionedConcurrentExecutions"], got["Status"]) == (1, "READY")
    listed = checked(lam, "ListProvisionedConcurrencyConfigs", FunctionName=name)[
        "ProvisionedConcurrencyConfigs"
    ]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:$LATEST"]
    version = lam.publish_version(FunctionName=name)["Version"]
    refused = error_of(
        lam.put_provisioned_concurrency_config,
        FunctionName=name,
        Qualifier=version,
        ProvisionedConcurrentExecutions=1,
    )
    assert refused[0] == "InvalidParameterValueException" and "$LATEST" in refused[2]
    over = error_of(
        lam.put_provisioned_concurrency_config, FunctionName=name, Qualifier="$LATEST",
        ProvisionedConcurrentExecutions=100_000,
    )  # fmt: skip
    assert over[:2] == ("InvalidParameterValueException", 400)
    checked(lam, "DeleteProvisionedConcurrencyConfig", FunctionName=name, Qualifier="$LATEST")
    gone = error_of(lam.delete_provisioned_concurrency_config, FunctionName=name, Qualifier="$LATEST")
    assert gone[:2] == ("ProvisionedConcurrencyConfigNotFoundException", 404)


def test_tags(lam: Any, function: tuple[str, str]) -> None:
    name, arn = function
    checked(lam, "TagResource", Resource=arn, Tags={"team": "a", "env": "dev"})
    checked(lam, "TagResource", Resource=arn, Tags={"team": "b"})
    assert checked(lam, "ListTags", Resource=arn)["Tags"] == {"team": "b", "env": "dev"}
    checked(lam, "UntagResource", Resource=arn, TagKeys=["env", "absent"])
    assert checked(lam, "ListTags", Resource=arn)["Tags"] == {"team": "b"}
    assert lam.get_function(FunctionName=name)["Tags"] == {"team": "b"}
    many = {f"k{i}": "v" for i in range(50)}
    code, status, message = error_of(lam.tag_resource, Resource=arn, Tags=many)
    assert (code, status) == ("InvalidParameterValueException", 400) and "50" in message
    long_key = error_of(lam.tag_resource, Resource=arn, Tags={"k" * 129: "v"})
    assert long_key[0] in ("ValidationException", "InvalidParameterValueException")
    missing = arn.replace(name, unique("gone"))
    assert error_of(lam.list_tags, Resource=missing)[:2] == ("ResourceNotFoundException", 404)
    assert (
        error_of(lam.tag_resource, Resource=f"{arn}:1", Tags={"a": "b"})[0]
        == "InvalidParameterValueException"
    )


def test_policy_statements_are_stored_and_returned(lam: Any, function: tuple[str, str]) -> None:
    name, arn = function
    assert error_of(lam.get_policy, FunctionName=name)[:2] == ("ResourceNotFoundException", 404)
    added = checked(
        lam, "AddPermission", FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket", SourceAccount="123456789012",
    )  # fmt: skip
    statement = json.loads(added["Statement"])
    assert statement["Sid"] == "s3" and statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Resource"] == arn
    assert statement["Condition"]["ArnLike"] == {"AWS:SourceArn": "arn:aws:s3:::bucket"}
    checked(
        lam,
        "AddPermission",
        FunctionName=name,
        StatementId="acct",
        Action="lambda:*",
        Principal="111122223333",
    )
    policy = checked(lam, "GetPolicy", FunctionName=name)
    document = json.loads(policy["Policy"])
    assert [s["Sid"] for s in document["Statement"]] == ["s3", "acct"]
    assert document["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert policy["RevisionId"] == lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    duplicate = error_of(
        lam.add_permission, FunctionName=name, StatementId="s3", Action="lambda:*", Principal="*"
    )
    assert duplicate[:2] == ("ResourceConflictException", 409)
    version = lam.publish_version(FunctionName=name)["Version"]
    checked(
        lam,
        "AddPermission",
        FunctionName=name,
        Qualifier=version,
        StatementId="v",
        Action="lambda:*",
        Principal="*",
    )
    assert [
        s["Sid"]
        for s in json.loads(lam.get_policy(FunctionName=name, Qualifier=version)["Policy"])["Statement"]
    ] == ["v"]
    checked(lam, "RemovePermission", FunctionName=name, StatementId="s3")
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]] == [
        "acct"
    ]
    assert error_of(lam.remove_permission, FunctionName=name, StatementId="s3")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    stale = error_of(lam.remove_permission, FunctionName=name, StatementId="acct", RevisionId="stale")
    assert stale[:2] == ("PreconditionFailedException", 412)
    lam.delete_function(FunctionName=name, Qualifier=version)
    assert error_of(lam.get_policy, FunctionName=name, Qualifier=version)[:2] == (
        "ResourceNotFoundException",
        404,
    )


def test_account_settings(lam: Any, function: tuple[str, str]) -> None:
    settings = checked(lam, "GetAccountSettings")
    assert settings["AccountUsage"]["FunctionCount"] >= 1
    assert settings["AccountUsage"]["TotalCodeSize"] > 0
    limit = settings["AccountLimit"]
    assert limit["ConcurrentExecutions"] >= limit["UnreservedConcurrentExecutions"] > 0
    assert limit["CodeSizeZipped"] == 50 * 1024 * 1024
