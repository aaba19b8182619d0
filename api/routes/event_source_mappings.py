"""Routes for event source mappings (thin): ``/v1/event-source-mappings`` (``?functionName=`` and
``?eventSourceArn=`` filter the list). PATCH changes the members given."""

from __future__ import annotations

from fastapi import APIRouter, status

from api import event_source_mapping_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import event_source_mappings as use_cases

router = APIRouter(prefix="/v1/event-source-mappings", tags=["event sources"], route_class=JsonRoute)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def create_event_source_mapping(
    body: schemas.MappingIn, session: SessionDep, state: StateDep
) -> schemas.MappingPublic:
    return await use_cases.create_mapping(session, body, state.settings.region, state.settings)


@router.get("")
async def list_event_source_mappings(
    session: SessionDep, state: StateDep, functionName: str | None = None, eventSourceArn: str | None = None
) -> schemas.MappingList:
    return await use_cases.list_mappings(
        session, state.settings.region, function=functionName, source_arn=eventSourceArn
    )


@router.get("/{uuid}")
async def get_event_source_mapping(uuid: str, session: SessionDep, state: StateDep) -> schemas.MappingPublic:
    return await use_cases.get_mapping(session, uuid, state.settings.region)


@router.patch("/{uuid}", status_code=status.HTTP_202_ACCEPTED)
async def update_event_source_mapping(
    uuid: str, body: schemas.MappingSettings, session: SessionDep, state: StateDep
) -> schemas.MappingPublic:
    return await use_cases.update_mapping(session, uuid, body, state.settings.region)


@router.delete("/{uuid}", status_code=status.HTTP_202_ACCEPTED)
async def delete_event_source_mapping(
    uuid: str, session: SessionDep, state: StateDep
) -> schemas.MappingPublic:
    return await use_cases.delete_mapping(session, uuid, state.settings.region, state.settings)
