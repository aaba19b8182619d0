"""Lambda's concurrency operations and account settings over ``api.services.functions``.

Stepline provisions concurrency for ``$LATEST`` (its provisioned environments run the function's
current code) and for aliases (their version's environments), so provisioned-concurrency
configurations exist for those qualifiers; a bare version number is refused rather than silently
provisioning something else.
"""

from __future__ import annotations

from typing import Any

from api import function_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import function_ref, last_modified
from api.services import aliases as alias_cases
from api.services import functions as use_cases
from foundation.registry import aliases
from foundation.registry import functions as registry
from statemachine import function_arn
from workers.functions.codestore import MAX_ZIP_BYTES
from workers.functions.unpack import MAX_UNZIPPED_BYTES

TOTAL_CODE_SIZE = 75 * 1024**3
"""What Lambda reports as an account's code storage (Stepline sets no such limit)."""


async def _set(
    call: Call, name: str, *, reserved: Any = ..., provisioned: int | None = None
) -> registry.Function:
    """Change one of the two numbers, keeping the other (the service checks them together)."""
    async with call.session() as session:
        current = await registry.get_function(session, name, for_update=True)
        body = schemas.ConcurrencyUpdate(
            reserved=current.reserved_concurrency if reserved is ... else reserved,
            provisioned=current.provisioned_concurrency if provisioned is None else provisioned,
        )
        await use_cases.set_concurrency(session, name, body, call.state.settings.sandbox.max_environments)
        row = await registry.get_function(session, name)
    call.refresh(name, provision=True)
    return row


async def put_function_concurrency(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    row = await _set(call, name, reserved=params["ReservedConcurrentExecutions"])
    return {"ReservedConcurrentExecutions": row.reserved_concurrency}


async def get_function_concurrency(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    async with call.session() as session:
        row = await registry.get_function(session, name)
    return {"ReservedConcurrentExecutions": row.reserved_concurrency}


async def delete_function_concurrency(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    await _set(call, name, reserved=None)
    return None


def _latest_only(name: str, qualifier: str | None) -> None:
    if qualifier != registry.LATEST:
        raise AwsError(
            "InvalidParameterValueException",
            f"Stepline provisions concurrency for $LATEST only (function {name}, qualifier {qualifier}).",
        )


def _config(call: Call, row: registry.Function, *, with_arn: bool) -> dict[str, Any]:
    """A provisioned-concurrency configuration. Stepline starts the environments within
    ``provision_check_seconds`` in every process; it reports what was requested as allocated."""
    n = row.provisioned_concurrency
    out: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": n,
        "AvailableProvisionedConcurrentExecutions": n,
        "AllocatedProvisionedConcurrentExecutions": n,
        "Status": "READY",
        "LastModified": last_modified(use_cases.public(row)),
    }
    if with_arn:
        out["FunctionArn"] = function_arn(row.name, registry.LATEST, call.region)
    return out


def _no_config() -> AwsError:
    return AwsError(
        "ProvisionedConcurrencyConfigNotFoundException",
        "No Provisioned Concurrency Config found for this function",
        404,
    )


def _alias_config(call: Call, alias: aliases.FunctionAlias, *, with_arn: bool) -> dict[str, Any]:
    n = alias.provisioned_concurrency
    out: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": n,
        "AvailableProvisionedConcurrentExecutions": n,
        "AllocatedProvisionedConcurrentExecutions": n,
        "Status": "READY",
        "LastModified": alias.last_modified.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{alias.last_modified.microsecond // 1000:03d}+0000",
    }
    if with_arn:
        out["FunctionArn"] = function_arn(alias.function_name, alias.name, call.region)
    return out


async def _alias(call: Call, name: str, qualifier: str) -> aliases.FunctionAlias:
    async with call.session() as session:
        try:
            return await aliases.get_alias(session, name, qualifier)
        except aliases.AliasNotFound:
            raise _no_config() from None


async def _set_alias(call: Call, name: str, qualifier: str, count: int) -> aliases.FunctionAlias:
    settings = call.state.settings
    async with call.session() as session:
        await alias_cases.set_provisioned(
            session, name, qualifier, count, settings.sandbox.max_environments, settings.region
        )
        row = await aliases.get_alias(session, name, qualifier)
    call.refresh(name, provision=True)
    return row


async def put_provisioned_concurrency_config(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params["Qualifier"])
    if aliases.is_alias(qualifier):
        assert qualifier is not None
        alias = await _set_alias(call, name, qualifier, params["ProvisionedConcurrentExecutions"])
        return {**_alias_config(call, alias, with_arn=False), "Status": "IN_PROGRESS"}
    _latest_only(name, qualifier)
    row = await _set(call, name, provisioned=params["ProvisionedConcurrentExecutions"])
    return {
        **_config(call, row, with_arn=False),
        "Status": "IN_PROGRESS",
        "AllocatedProvisionedConcurrentExecutions": 0,
    }


async def get_provisioned_concurrency_config(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params["Qualifier"])
    if aliases.is_alias(qualifier):
        assert qualifier is not None
        alias = await _alias(call, name, qualifier)
        if not alias.provisioned_concurrency:
            raise _no_config()
        return _alias_config(call, alias, with_arn=False)
    async with call.session() as session:
        row = await registry.get_function(session, name)
    if qualifier != registry.LATEST or not row.provisioned_concurrency:
        raise _no_config()
    return _config(call, row, with_arn=False)


async def delete_provisioned_concurrency_config(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"], params["Qualifier"])
    if aliases.is_alias(qualifier):
        assert qualifier is not None
        if not (await _alias(call, name, qualifier)).provisioned_concurrency:
            raise _no_config()
        await _set_alias(call, name, qualifier, 0)
        return None
    async with call.session() as session:
        row = await registry.get_function(session, name)
    if qualifier != registry.LATEST or not row.provisioned_concurrency:
        raise _no_config()
    await _set(call, name, provisioned=0)
    return None


async def list_provisioned_concurrency_configs(call: Call, params: dict[str, Any]) -> Output:
    name, _ = function_ref(params["FunctionName"])
    async with call.session() as session:
        row = await registry.get_function(session, name)
        provisioned = [a for a in await aliases.list_aliases(session, name) if a.provisioned_concurrency]
    configs = [_config(call, row, with_arn=True)] if row.provisioned_concurrency else []
    configs += [_alias_config(call, alias, with_arn=True) for alias in provisioned]
    return {"ProvisionedConcurrencyConfigs": configs}


async def get_account_settings(call: Call, params: dict[str, Any]) -> Output:
    limit = call.state.settings.sandbox.max_environments
    async with call.session() as session:
        functions = await registry.list_functions(session, 100_000)
        code_size = 0
        for function in functions:
            code_size += function.code_size + sum(
                v.code_size for v in await registry.list_versions(session, function.name)
            )
    reserved = sum(f.reserved_concurrency or 0 for f in functions)
    return {
        "AccountLimit": {
            "TotalCodeSize": TOTAL_CODE_SIZE,
            "CodeSizeUnzipped": MAX_UNZIPPED_BYTES,
            "CodeSizeZipped": MAX_ZIP_BYTES,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": max(limit - reserved, 0),
        },
        "AccountUsage": {"TotalCodeSize": code_size, "FunctionCount": len(functions)},
    }


OPERATIONS: dict[str, Operation] = {
    "PutFunctionConcurrency": put_function_concurrency,
    "GetFunctionConcurrency": get_function_concurrency,
    "DeleteFunctionConcurrency": delete_function_concurrency,
    "PutProvisionedConcurrencyConfig": put_provisioned_concurrency_config,
    "GetProvisionedConcurrencyConfig": get_provisioned_concurrency_config,
    "DeleteProvisionedConcurrencyConfig": delete_provisioned_concurrency_config,
    "ListProvisionedConcurrencyConfigs": list_provisioned_concurrency_configs,
    "GetAccountSettings": get_account_settings,
}
