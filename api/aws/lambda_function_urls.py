"""Lambda's function URL operations over ``api.services.function_urls``: Create, Get, Update, Delete
and List FunctionUrlConfig(s). Translation only: the rules are the service's."""

from __future__ import annotations

from typing import Any

from api import function_url_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import function_ref
from api.pagination import decode_token, encode_token
from api.services import function_urls as use_cases
from foundation.registry import function_urls as registry
from statemachine import function_arn

PAGE = 50
_CORS = {
    "AllowCredentials": "allow_credentials", "AllowHeaders": "allow_headers", "AllowMethods": "allow_methods",
    "AllowOrigins": "allow_origins", "ExposeHeaders": "expose_headers", "MaxAge": "max_age",
}  # fmt: skip


def _config(public: schemas.FunctionUrlPublic, *, created: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FunctionUrl": public.function_url,
        "FunctionArn": public.function_arn,
        "AuthType": public.auth_type,
        "CreationTime": public.creation_time.isoformat(),
        "InvokeMode": public.invoke_mode,
    }
    if not created:
        out["LastModifiedTime"] = public.last_modified_time.isoformat()
    if public.cors is not None:
        values = public.cors.model_dump()
        out["Cors"] = {member: values[field] for member, field in _CORS.items() if values[field] is not None}
    return out


def _body(params: dict[str, Any]) -> schemas.FunctionUrlIn:
    fields: dict[str, Any] = {}
    if "AuthType" in params:
        fields["auth_type"] = params["AuthType"]
    if "InvokeMode" in params:
        fields["invoke_mode"] = params["InvokeMode"]
    if "Cors" in params:
        cors = params["Cors"] or {}
        fields["cors"] = schemas.Cors(
            **{field: cors[member] for member, field in _CORS.items() if member in cors}
        )
    return schemas.FunctionUrlIn(**fields)


async def _run(call: Call, params: dict[str, Any], run: Any) -> Any:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    try:
        async with call.session() as session:
            return await run(session, name, qualifier)
    except registry.FunctionUrlNotFound:
        arn = function_arn(name, qualifier, call.region)
        raise AwsError(
            "ResourceNotFoundException", f"The resource you requested does not exist: {arn}", 404
        ) from None
    except registry.FunctionUrlExists:
        arn = function_arn(name, qualifier, call.region)
        raise AwsError(
            "ResourceConflictException",
            f"Failed to create function url config for [functionArn = {arn}]. Error message:  "
            "FunctionUrlConfig exists for this Lambda function",
            409,
        ) from None


async def create_url(call: Call, params: dict[str, Any]) -> Output:
    body = _body(params)
    created = await _run(
        call, params, lambda s, n, q: use_cases.create_url(s, n, q, body, call.base_url, call.region)
    )
    return _config(created, created=True)


async def update_url(call: Call, params: dict[str, Any]) -> Output:
    body = _body(params)
    return _config(
        await _run(
            call, params, lambda s, n, q: use_cases.update_url(s, n, q, body, call.base_url, call.region)
        )
    )


async def get_url(call: Call, params: dict[str, Any]) -> Output:
    return _config(
        await _run(call, params, lambda s, n, q: use_cases.get_url(s, n, q, call.base_url, call.region))
    )


async def delete_url(call: Call, params: dict[str, Any]) -> Output:
    await _run(call, params, use_cases.delete_url)
    return None


async def list_urls(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"])
    if qualifier is not None:
        raise AwsError("InvalidParameterValueException", "ListFunctionUrlConfigs takes an unqualified name.")
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token("function-urls", params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    async with call.session() as session:
        found = (await use_cases.list_urls(session, name, call.base_url, call.region)).function_url_configs
    marker = encode_token("function-urls", {"at": start + limit}) if start + limit < len(found) else None
    return {"FunctionUrlConfigs": [_config(c) for c in found[start : start + limit]], "NextMarker": marker}


OPERATIONS: dict[str, Operation] = {
    "CreateFunctionUrlConfig": create_url,
    "GetFunctionUrlConfig": get_url,
    "UpdateFunctionUrlConfig": update_url,
    "DeleteFunctionUrlConfig": delete_url,
    "ListFunctionUrlConfigs": list_urls,
}
