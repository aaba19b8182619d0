"""Lambda's alias operations over ``api.services.aliases``: create, get, update, delete, list.

Translation only: Lambda's members in, an ``AliasConfiguration`` out; the rules are the service's.
"""

from __future__ import annotations

from typing import Any

from api import alias_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output, check_revision
from api.aws.lambda_config import function_ref
from api.pagination import decode_token, encode_token
from api.services import aliases as use_cases
from foundation.registry import aliases as registry
from statemachine import function_arn

PAGE = 50


def alias_configuration(alias: schemas.AliasPublic) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AliasArn": alias.alias_arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.routing_config.additional_version_weights:
        out["RoutingConfig"] = {"AdditionalVersionWeights": alias.routing_config.additional_version_weights}
    return out


def _routing(params: dict[str, Any]) -> schemas.RoutingConfig | None:
    config = params.get("RoutingConfig")
    if config is None:
        return None
    return schemas.RoutingConfig(additional_version_weights=config.get("AdditionalVersionWeights") or {})


def _unqualified(reference: str) -> str:
    name, qualifier = function_ref(reference)
    if qualifier is not None:
        raise AwsError(
            "InvalidParameterValueException", "An alias operation takes an unqualified function name."
        )
    return name


def alias_not_found(call: Call, function: str, name: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"Alias not found: {function_arn(function, name, call.region)}", 404
    )


async def _guarded(call: Call, function: str, name: str, run: Any) -> Any:
    try:
        return await run
    except registry.AliasNotFound:
        raise alias_not_found(call, function, name) from None
    except registry.AliasExists:
        raise AwsError(
            "ResourceConflictException",
            f"Alias already exists: {function_arn(function, name, call.region)}",
            409,
        ) from None


async def create_alias(call: Call, params: dict[str, Any]) -> Output:
    function = _unqualified(params["FunctionName"])
    body = schemas.AliasCreate(
        name=params["Name"], function_version=params["FunctionVersion"],
        description=params.get("Description") or "", routing_config=_routing(params),
    )  # fmt: skip
    async with call.session() as session:
        alias = await _guarded(
            call, function, body.name, use_cases.create_alias(session, function, body, call.region)
        )
    call.refresh(function)
    return alias_configuration(alias)


async def get_alias(call: Call, params: dict[str, Any]) -> Output:
    function, name = _unqualified(params["FunctionName"]), params["Name"]
    async with call.session() as session:
        return alias_configuration(
            await _guarded(call, function, name, use_cases.get_alias(session, function, name, call.region))
        )


async def update_alias(call: Call, params: dict[str, Any]) -> Output:
    function, name = _unqualified(params["FunctionName"]), params["Name"]
    body = schemas.AliasUpdate(
        function_version=params.get("FunctionVersion"), description=params.get("Description"),
        routing_config=_routing(params),
    )  # fmt: skip
    async with call.session() as session:
        current = await _guarded(
            call, function, name, registry.get_alias(session, function, name, for_update=True)
        )
        check_revision(current.revision_id, params.get("RevisionId"))
        alias = await use_cases.update_alias(session, function, name, body, call.region)
    call.refresh(function, provision=True)
    return alias_configuration(alias)


async def delete_alias(call: Call, params: dict[str, Any]) -> Output:
    function, name = _unqualified(params["FunctionName"]), params["Name"]
    async with call.session() as session:
        await use_cases.delete_alias(session, function, name)
    call.refresh(function, provision=True)
    return None


async def list_aliases(call: Call, params: dict[str, Any]) -> Output:
    function = _unqualified(params["FunctionName"])
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token("aliases", params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    async with call.session() as session:
        found = (
            await use_cases.list_aliases(session, function, call.region, params.get("FunctionVersion"))
        ).aliases
    marker = encode_token("aliases", {"at": start + limit}) if start + limit < len(found) else None
    return {"Aliases": [alias_configuration(a) for a in found[start : start + limit]], "NextMarker": marker}


OPERATIONS: dict[str, Operation] = {
    "CreateAlias": create_alias,
    "GetAlias": get_alias,
    "UpdateAlias": update_alias,
    "DeleteAlias": delete_alias,
    "ListAliases": list_aliases,
}
