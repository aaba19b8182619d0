"""Lambda's asynchronous invocation operations over ``api.services.event_invoke``: Put, Get, Update,
Delete and List FunctionEventInvokeConfig(s). Translation only: the rules are the service's."""

from __future__ import annotations

from typing import Any

from api import event_invoke_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.aws.lambda_config import function_ref
from api.pagination import decode_token, encode_token
from api.services import event_invoke as use_cases
from foundation.registry import event_invoke as registry
from statemachine import function_arn

PAGE = 50


def _config(public: schemas.EventInvokeConfigPublic) -> dict[str, Any]:
    destinations = public.destination_config
    out: dict[str, Any] = {
        "LastModified": public.last_modified,
        "FunctionArn": public.function_arn,
        "DestinationConfig": {
            "OnSuccess": {"Destination": destinations.on_success.destination}
            if destinations.on_success.destination
            else {},
            "OnFailure": {"Destination": destinations.on_failure.destination}
            if destinations.on_failure.destination
            else {},
        },
    }
    if public.maximum_retry_attempts is not None:
        out["MaximumRetryAttempts"] = public.maximum_retry_attempts
    if public.maximum_event_age_in_seconds is not None:
        out["MaximumEventAgeInSeconds"] = public.maximum_event_age_in_seconds
    return out


def _body(params: dict[str, Any]) -> schemas.EventInvokeConfigIn:
    fields: dict[str, Any] = {}
    if "MaximumRetryAttempts" in params:
        fields["maximum_retry_attempts"] = params["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in params:
        fields["maximum_event_age_in_seconds"] = params["MaximumEventAgeInSeconds"]
    if "DestinationConfig" in params:
        config, given = params["DestinationConfig"] or {}, {}
        for member, field in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            if member in config:
                given[field] = schemas.Destination(destination=(config[member] or {}).get("Destination"))
        fields["destination_config"] = schemas.DestinationConfig(**given)
    return schemas.EventInvokeConfigIn(**fields)


async def _run(call: Call, params: dict[str, Any], run: Any) -> Any:
    name, qualifier = function_ref(params["FunctionName"], params.get("Qualifier"))
    try:
        async with call.session() as session:
            return await run(session, name, qualifier)
    except registry.EventInvokeConfigNotFound:
        arn = function_arn(name, qualifier, call.region)
        raise AwsError(
            "ResourceNotFoundException", f"The function {arn} doesn't have an EventInvokeConfig", 404
        ) from None


async def put_config(call: Call, params: dict[str, Any]) -> Output:
    body = _body(params)
    return _config(await _run(call, params, lambda s, n, q: use_cases.put_config(s, n, q, body, call.region)))


async def update_config(call: Call, params: dict[str, Any]) -> Output:
    body = _body(params)
    return _config(
        await _run(
            call, params, lambda s, n, q: use_cases.put_config(s, n, q, body, call.region, update=True)
        )
    )


async def get_config(call: Call, params: dict[str, Any]) -> Output:
    return _config(await _run(call, params, lambda s, n, q: use_cases.get_config(s, n, q, call.region)))


async def delete_config(call: Call, params: dict[str, Any]) -> Output:
    await _run(call, params, use_cases.delete_config)
    return None


async def list_configs(call: Call, params: dict[str, Any]) -> Output:
    name, qualifier = function_ref(params["FunctionName"])
    if qualifier is not None:
        raise AwsError(
            "InvalidParameterValueException", "ListFunctionEventInvokeConfigs takes an unqualified name."
        )
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token("event-invoke", params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    async with call.session() as session:
        found = (await use_cases.list_configs(session, name, call.region)).function_event_invoke_configs
    marker = encode_token("event-invoke", {"at": start + limit}) if start + limit < len(found) else None
    return {
        "FunctionEventInvokeConfigs": [_config(c) for c in found[start : start + limit]],
        "NextMarker": marker,
    }


OPERATIONS: dict[str, Operation] = {
    "PutFunctionEventInvokeConfig": put_config,
    "GetFunctionEventInvokeConfig": get_config,
    "UpdateFunctionEventInvokeConfig": update_config,
    "DeleteFunctionEventInvokeConfig": delete_config,
    "ListFunctionEventInvokeConfigs": list_configs,
}
