"""Routes for state machine aliases (thin: schema in, use case, schema out), and starting an
execution through one (the alias chooses the published version by its weights)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import machine_alias_schemas as alias_schemas
from api import schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import executions
from api.services import machine_aliases as use_cases
from foundation.registry.database import unit_of_work
from foundation.registry.machine_aliases import StateMachineAlias
from statemachine import state_machine_arn

router = APIRouter(
    prefix="/v1/state-machines/{machine}/aliases", tags=["state machines"], route_class=JsonRoute
)


def _public(alias: StateMachineAlias, region: str) -> alias_schemas.MachineAliasPublic:
    machine = alias.state_machine_name
    return alias_schemas.MachineAliasPublic(
        name=alias.name,
        alias_arn=f"{state_machine_arn(machine, region)}:{alias.name}",
        state_machine=machine,
        description=alias.description,
        routing=[alias_schemas.Route(version=v, weight=w) for v, w in alias.routes()],
        creation_date=alias.created_at,
        update_date=alias.updated_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_alias(
    machine: str, body: alias_schemas.MachineAliasCreate, session: SessionDep, state: StateDep
) -> alias_schemas.MachineAliasPublic:
    routing = [(r.version, r.weight) for r in body.routing]
    alias = await use_cases.create(session, machine, body.name, body.description, routing)
    return _public(alias, state.settings.region)


@router.get("")
async def list_aliases(
    machine: str,
    session: SessionDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> alias_schemas.MachineAliasList:
    rows, token = await use_cases.aliases_page(session, machine, limit, next_token)
    return alias_schemas.MachineAliasList(
        aliases=[_public(a, state.settings.region) for a in rows], next_token=token
    )


@router.get("/{name}")
async def describe_alias(
    machine: str, name: str, session: SessionDep, state: StateDep
) -> alias_schemas.MachineAliasPublic:
    return _public(await use_cases.describe(session, machine, name), state.settings.region)


@router.put("/{name}")
async def update_alias(
    machine: str, name: str, body: alias_schemas.MachineAliasUpdate, session: SessionDep, state: StateDep
) -> alias_schemas.MachineAliasPublic:
    routing = None if body.routing is None else [(r.version, r.weight) for r in body.routing]
    alias = await use_cases.update(session, machine, name, body.description, routing)
    return _public(alias, state.settings.region)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_alias(machine: str, name: str, session: SessionDep) -> Response:
    await use_cases.delete(session, machine, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/executions", status_code=status.HTTP_201_CREATED)
async def start_through_alias(
    machine: str, name: str, body: schemas.StartExecution, state: StateDep
) -> schemas.ExecutionStarted:
    async with unit_of_work(state.sessions) as session:
        chosen = await use_cases.resolve(session, machine, name)
    return await executions.start(state, machine, body, published=chosen.published, alias=chosen.alias)
