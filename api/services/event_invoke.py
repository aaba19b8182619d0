"""Asynchronous invocation settings: put, update, get, delete, list (Lambda's EventInvokeConfig).

A configuration belongs to a function unqualified (``$LATEST``), one of its versions or one of its
aliases; the qualifier must exist. A destination is the ARN of another function, a state machine
or an SQS queue of this Stepline (a function or a state machine must exist); a function cannot be its
own destination, as Lambda rules.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel.ext.asyncio.session import AsyncSession

from api import event_invoke_schemas as schemas
from foundation.errors import InvalidRequest
from foundation.registry import aliases, event_bus, event_invoke
from foundation.registry import functions as function_registry
from foundation.registry.state_machines import StateMachineNotFound, get_state_machine
from statemachine import function_arn, parse_function_ref


def _invalid(location: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        message, [{"location": location, "message": message, "code": "InvalidParameterValueException"}]
    )


async def check_qualifier(session: AsyncSession, function: str, qualifier: str | None) -> None:
    """``function`` exists, and so does its version or alias ``qualifier`` (FunctionNotFound)."""
    if aliases.is_alias(qualifier):
        assert qualifier is not None
        await function_registry.get_function(session, function)
        try:
            await aliases.get_alias(session, function, qualifier)
        except aliases.AliasNotFound:
            raise function_registry.FunctionNotFound(function, qualifier) from None
    else:
        await function_registry.resolve_function(session, function, qualifier)


async def _check_destination(session: AsyncSession, function: str, arn: str | None, where: str) -> None:
    if arn is None:
        return
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise _invalid(where, f"{arn!r} is not an ARN")
    service = parts[2]
    if service == "lambda" and parts[5] == "function" and len(parts) in (7, 8):
        name, qualifier = parse_function_ref(arn)
        if name == function:
            raise _invalid(where, "You can't specify the function as a destination for itself.")
        try:
            await check_qualifier(session, name, qualifier)
        except function_registry.FunctionNotFound:
            raise _invalid(where, f"The destination function {arn} does not exist.") from None
    elif service == "states" and len(parts) == 7 and parts[5] == "stateMachine":
        try:
            await get_state_machine(session, parts[6])
        except StateMachineNotFound:
            raise _invalid(where, f"The destination state machine {arn} does not exist.") from None
    elif service == "events" and len(parts) == 6 and parts[5].startswith("event-bus/"):
        try:
            await event_bus.check_bus(session, parts[5].removeprefix("event-bus/"))
        except event_bus.EventBusNotFound:
            raise _invalid(where, f"The destination event bus {arn} does not exist.") from None
    elif not (service == "sqs" and len(parts) == 6 and parts[5]):
        raise _invalid(
            where,
            f"The destination ARN {arn} is invalid: a function, a state machine, an event bus or an SQS "
            "queue is expected.",
        )


def public(row: event_invoke.EventInvokeConfig, region: str) -> schemas.EventInvokeConfigPublic:
    return schemas.EventInvokeConfigPublic(
        function_arn=function_arn(row.function_name, row.qualifier, region),
        last_modified=row.last_modified,
        maximum_retry_attempts=row.maximum_retry_attempts,
        maximum_event_age_in_seconds=row.maximum_event_age_seconds,
        destination_config=schemas.DestinationConfig(
            on_success=schemas.Destination(destination=row.on_success),
            on_failure=schemas.Destination(destination=row.on_failure),
        ),
    )


async def put_config(
    session: AsyncSession, function: str, qualifier: str | None, body: schemas.EventInvokeConfigIn,
    region: str, *, update: bool = False,
) -> schemas.EventInvokeConfigPublic:  # fmt: skip
    """Put (replace every member) or, with ``update``, change the members ``body`` sets; an Update of a
    function without a configuration is ResourceNotFound, as Lambda's."""
    await check_qualifier(session, function, qualifier)
    current = await event_invoke.get_config(session, function, qualifier, for_update=True)
    if update and current is None:
        raise event_invoke.EventInvokeConfigNotFound(function, qualifier or function_registry.LATEST)
    given = body.model_fields_set if update else set(schemas.EventInvokeConfigIn.model_fields)
    settings = event_invoke.EventInvokeSettings(
        maximum_retry_attempts=body.maximum_retry_attempts
        if "maximum_retry_attempts" in given or current is None
        else current.maximum_retry_attempts,
        maximum_event_age_seconds=body.maximum_event_age_in_seconds
        if "maximum_event_age_in_seconds" in given or current is None
        else current.maximum_event_age_seconds,
        on_success=current.on_success if current is not None and update else None,
        on_failure=current.on_failure if current is not None and update else None,
    )
    config = body.destination_config
    if config is not None:
        given_config = config.model_fields_set if update else {"on_success", "on_failure"}
        if "on_success" in given_config:
            settings = replace(settings, on_success=config.on_success.destination)
        if "on_failure" in given_config:
            settings = replace(settings, on_failure=config.on_failure.destination)
    await _check_destination(
        session, function, settings.on_success, "/destinationConfig/onSuccess/destination"
    )
    await _check_destination(
        session, function, settings.on_failure, "/destinationConfig/onFailure/destination"
    )
    return public(await event_invoke.put_config(session, function, qualifier, settings), region)


async def get_config(
    session: AsyncSession, function: str, qualifier: str | None, region: str
) -> schemas.EventInvokeConfigPublic:
    await check_qualifier(session, function, qualifier)
    found = await event_invoke.get_config(session, function, qualifier)
    if found is None:
        raise event_invoke.EventInvokeConfigNotFound(function, qualifier or function_registry.LATEST)
    return public(found, region)


async def delete_config(session: AsyncSession, function: str, qualifier: str | None) -> None:
    await check_qualifier(session, function, qualifier)
    await event_invoke.delete_config(session, function, qualifier)


async def list_configs(session: AsyncSession, function: str, region: str) -> schemas.EventInvokeConfigList:
    await function_registry.get_function(session, function)
    rows = await event_invoke.list_configs(session, function)
    return schemas.EventInvokeConfigList(function_event_invoke_configs=[public(r, region) for r in rows])
