"""Lambda's event source mapping operations over ``api.services.event_source_mappings``: Create, Get,
Update, Delete and List EventSourceMapping(s). Translation only: the rules are the service's."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api import event_source_mapping_schemas as schemas
from api.aws.errors import AwsError
from api.aws.lambda_call import Call, Operation, Output
from api.pagination import decode_token, encode_token
from api.services import event_source_mappings as use_cases
from foundation.registry import event_source_mappings as registry
from statemachine import event_source_mapping_arn

PAGE = 100
_MEMBERS = {
    "EventSourceArn": "event_source_arn", "FunctionName": "function_name", "Enabled": "enabled",
    "BatchSize": "batch_size", "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
    "ParallelizationFactor": "parallelization_factor", "StartingPosition": "starting_position",
    "StartingPositionTimestamp": "starting_position_timestamp",
    "MaximumRecordAgeInSeconds": "maximum_record_age_in_seconds",
    "BisectBatchOnFunctionError": "bisect_batch_on_function_error",
    "MaximumRetryAttempts": "maximum_retry_attempts", "FunctionResponseTypes": "function_response_types",
    "Queues": "queues",
}  # fmt: skip
_UNSUPPORTED = (
    "Topics", "SourceAccessConfigurations", "TumblingWindowInSeconds",
    "AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig", "ScalingConfig",
    "DocumentDBEventSourceConfig", "KMSKeyArn", "ProvisionedPollerConfig",
)  # fmt: skip


def _mapping(public: schemas.MappingPublic, region: str, account: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UUID": public.uuid,
        "EventSourceArn": public.event_source_arn,
        "FunctionArn": public.function_arn,
        "State": public.state,
        "StateTransitionReason": public.state_transition_reason,
        "LastModified": public.last_modified,
        "LastProcessingResult": public.last_processing_result,
        "BatchSize": public.batch_size,
        "MaximumBatchingWindowInSeconds": public.maximum_batching_window_in_seconds,
        "ParallelizationFactor": public.parallelization_factor,
        "FunctionResponseTypes": public.function_response_types,
        "BisectBatchOnFunctionError": public.bisect_batch_on_function_error,
        "MaximumRetryAttempts": public.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": public.maximum_record_age_in_seconds,
        "DestinationConfig": {"OnFailure": {"Destination": public.destination_config.on_failure.destination}}
        if public.destination_config.on_failure.destination
        else {"OnFailure": {}},
        "EventSourceMappingArn": event_source_mapping_arn(public.uuid, region, account),
    }
    if public.queues:
        out["Queues"] = public.queues
    if public.filter_criteria:
        out["FilterCriteria"] = public.filter_criteria
    if public.self_managed_event_source is not None:  # the URI without its password
        out["SelfManagedEventSource"] = {"Endpoints": public.self_managed_event_source.endpoints}
    if public.starting_position:
        out["StartingPosition"] = public.starting_position
    if public.starting_position_timestamp:
        out["StartingPositionTimestamp"] = public.starting_position_timestamp
    return out


def _fields(params: dict[str, Any]) -> dict[str, Any]:
    for member in _UNSUPPORTED:
        if params.get(member) not in (None, [], {}):
            raise AwsError("InvalidParameterValueException", f"{member} is not supported by this Stepline.")
    fields = {field: params[member] for member, field in _MEMBERS.items() if member in params}
    if "DestinationConfig" in params:
        failure = (params["DestinationConfig"] or {}).get("OnFailure") or {}
        fields["destination_config"] = {"on_failure": {"destination": failure.get("Destination")}}
    if "SelfManagedEventSource" in params:
        endpoints = (params["SelfManagedEventSource"] or {}).get("Endpoints") or {}
        fields["self_managed_event_source"] = {"endpoints": endpoints}
    if "FilterCriteria" in params:
        filters = (params["FilterCriteria"] or {}).get("Filters") or []
        fields["filter_criteria"] = {"filters": [{"pattern": f.get("Pattern") or ""} for f in filters]}
    return fields


def _not_found(uuid: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"The resource you requested does not exist. (UUID {uuid})", 404
    )


async def create_mapping(call: Call, params: dict[str, Any]) -> Output:
    try:
        body = schemas.MappingIn.model_validate(_fields(params))
    except ValidationError as exc:
        raise AwsError("InvalidParameterValueException", str(exc.errors()[0].get("msg"))) from None
    async with call.session() as session:
        found = await use_cases.create_mapping(session, body, call.region, call.state.settings)
    return _mapping(found, call.region, call.account_id)


async def update_mapping(call: Call, params: dict[str, Any]) -> Output:
    fields = _fields(params)
    fields.pop("queues", None)
    try:
        body = schemas.MappingSettings.model_validate(fields)
    except ValidationError as exc:
        raise AwsError("InvalidParameterValueException", str(exc.errors()[0].get("msg"))) from None
    try:
        async with call.session() as session:
            found = await use_cases.update_mapping(session, params["UUID"], body, call.region)
    except registry.EventSourceMappingNotFound:
        raise _not_found(params["UUID"]) from None
    return _mapping(found, call.region, call.account_id)


async def get_mapping(call: Call, params: dict[str, Any]) -> Output:
    try:
        async with call.session() as session:
            found = await use_cases.get_mapping(session, params["UUID"], call.region)
    except registry.EventSourceMappingNotFound:
        raise _not_found(params["UUID"]) from None
    return _mapping(found, call.region, call.account_id)


async def delete_mapping(call: Call, params: dict[str, Any]) -> Output:
    try:
        async with call.session() as session:
            found = await use_cases.delete_mapping(session, params["UUID"], call.region, call.state.settings)
    except registry.EventSourceMappingNotFound:
        raise _not_found(params["UUID"]) from None
    return _mapping(found, call.region, call.account_id)


async def list_mappings(call: Call, params: dict[str, Any]) -> Output:
    limit = min(params.get("MaxItems") or PAGE, PAGE)
    start = decode_token("event-source-mappings", params["Marker"]).get("at") if params.get("Marker") else 0
    if not isinstance(start, int) or start < 0:
        raise AwsError("InvalidParameterValueException", "Marker is not a marker this API issued.")
    async with call.session() as session:
        found = await use_cases.list_mappings(
            session, call.region, function=params.get("FunctionName"), source_arn=params.get("EventSourceArn")
        )
    page = found.event_source_mappings[start : start + limit]
    out: dict[str, Any] = {"EventSourceMappings": [_mapping(m, call.region, call.account_id) for m in page]}
    if start + limit < len(found.event_source_mappings):
        out["NextMarker"] = encode_token("event-source-mappings", {"at": start + limit})
    return out


OPERATIONS: dict[str, Operation] = {
    "CreateEventSourceMapping": create_mapping,
    "GetEventSourceMapping": get_mapping,
    "UpdateEventSourceMapping": update_mapping,
    "DeleteEventSourceMapping": delete_mapping,
    "ListEventSourceMappings": list_mappings,
}
