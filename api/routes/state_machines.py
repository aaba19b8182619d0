"""Routes for state machines (thin: schema in, service call, schema out)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import schemas
from api.deps import SessionDep, SettingsDep
from api.json_input import JsonRoute
from api.services import state_machines as service

router = APIRouter(prefix="/v1/state-machines", tags=["state machines"], route_class=JsonRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_state_machine(
    body: schemas.StateMachineCreate, session: SessionDep, settings: SettingsDep
) -> schemas.StateMachinePublic:
    return await service.create(session, body, settings.region)


@router.get("")
async def list_state_machines(
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken")] = None,
) -> schemas.StateMachineList:
    return await service.list_page(session, limit, next_token, settings.region)


@router.post("/validate", response_model_exclude_none=True)
async def validate_definition(body: schemas.ValidateRequest) -> schemas.ValidateResponse:
    return service.validate(body)


@router.get("/{name}")
async def describe_state_machine(
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> schemas.StateMachinePublic:
    return await service.describe(session, name, version, settings.region)


@router.put("/{name}")
async def update_state_machine(
    name: str, body: schemas.StateMachineUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.StateMachinePublic:
    return await service.update(session, name, body, settings.region)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_state_machine(name: str, session: SessionDep, settings: SettingsDep) -> Response:
    await service.delete(session, name, settings.region)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
