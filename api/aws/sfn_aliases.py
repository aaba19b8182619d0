"""Step Functions' state machine alias operations over ``api.services.machine_aliases``.

An alias ARN is ``...:stateMachine:NAME:ALIAS``; its routing names versions by their ARNs. A
machine, version or alias that does not exist is ResourceNotFound (the operations' own error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from api.aws import arns
from api.aws.errors import AwsError
from api.aws.json_protocol import Call
from api.aws.sfn_state_machines import DEFAULT_PAGE
from api.services import machine_aliases as service
from foundation.registry.database import unit_of_work
from foundation.registry.machine_aliases import AliasNotFound, Routing, StateMachineAlias
from foundation.registry.state_machines import StateMachineNotFound
from statemachine import state_machine_arn, version_arn

T = TypeVar("T")


def alias_arn(machine: str, name: str, region: str) -> str:
    return f"{state_machine_arn(machine, region)}:{name}"


def _routing(machine: str, given: list[dict[str, Any]], region: str) -> Routing:
    """``routingConfiguration`` as (published version, weight) pairs; every ARN must be a version
    of ``machine``."""
    routing: Routing = []
    for entry in given:
        arn = entry["stateMachineVersionArn"]
        ref = arns.state_machine(arn)
        if ref.published is None:
            raise AwsError("ValidationException", f"'{arn}' is not a state machine version ARN")
        if ref.name != machine:
            raise AwsError(
                "ValidationException",
                f"Version '{arn}' does not belong to state machine '{state_machine_arn(machine, region)}'",
            )
        routing.append((ref.published, int(entry["weight"])))
    return routing


def _shown(alias: StateMachineAlias, region: str) -> dict[str, Any]:
    machine = alias.state_machine_name
    return {
        "stateMachineAliasArn": alias_arn(machine, alias.name, region),
        "name": alias.name,
        "description": alias.description,
        "routingConfiguration": [
            {"stateMachineVersionArn": version_arn(machine, version, region), "weight": weight}
            for version, weight in alias.routes()
        ],
        "creationDate": alias.created_at,
        "updateDate": alias.updated_at,
    }


async def _found(arn: str, work: Awaitable[T]) -> T:
    """``work``'s result; a machine, version or alias it does not find is ResourceNotFound."""
    try:
        return await work
    except (StateMachineNotFound, AliasNotFound):
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'") from None


def _in_session(call: Call, use: Callable[..., Awaitable[T]], *args: Any) -> Awaitable[T]:
    async def run() -> T:
        async with unit_of_work(call.state.sessions) as session:
            return await use(session, *args)

    return run()


async def create_state_machine_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    routing_given = params["routingConfiguration"]
    first = arns.state_machine(routing_given[0]["stateMachineVersionArn"]) if routing_given else None
    if first is None:
        raise AwsError("ValidationException", "routingConfiguration must name one or two versions")
    machine = first.name
    routing = _routing(machine, routing_given, call.region)
    arn = str(routing_given[0]["stateMachineVersionArn"])
    alias = await _found(
        arn,
        _in_session(call, service.create, machine, params["name"], params.get("description"), routing),
    )
    return {
        "stateMachineAliasArn": alias_arn(machine, alias.name, call.region),
        "creationDate": alias.created_at,
    }


async def describe_state_machine_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    ref = arns.alias(arn)
    alias = await _found(arn, _in_session(call, service.describe, ref.name, ref.alias))
    return _shown(alias, call.region)


async def update_state_machine_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    ref = arns.alias(arn)
    given = params.get("routingConfiguration")
    routing = _routing(ref.name, given, call.region) if given is not None else None
    alias = await _found(
        arn, _in_session(call, service.update, ref.name, ref.alias, params.get("description"), routing)
    )
    return {"updateDate": alias.updated_at}


async def delete_state_machine_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineAliasArn"]
    ref = arns.alias(arn)
    await _found(arn, _in_session(call, service.delete, ref.name, ref.alias))
    return {}


async def list_state_machine_aliases(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Of a machine, or (given a version ARN) those that route to that version."""
    arn = params["stateMachineArn"]
    ref = arns.state_machine(arn)
    if ref.alias is not None:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Unexpected alias ARN: {arn}'")
    limit = params.get("maxResults") or DEFAULT_PAGE
    rows, token = await _found(
        arn,
        _in_session(call, service.aliases_page, ref.name, limit, params.get("nextToken"), ref.published),
    )
    return {
        "stateMachineAliases": [
            {"stateMachineAliasArn": alias_arn(a.state_machine_name, a.name, call.region),
             "creationDate": a.created_at}
            for a in rows
        ],
        "nextToken": token,
    }  # fmt: skip
