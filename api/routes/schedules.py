"""Routes for schedules (thin): ``/v1/schedules[/{name}]`` and ``/v1/schedule-groups[/{name}]``
(EventBridge Scheduler-style; ``?groupName=`` picks a schedule's group, ``default`` unless told)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import schedule_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import schedule_groups as groups
from api.services import schedules as use_cases

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=JsonRoute)
groups_router = APIRouter(prefix="/v1/schedule-groups", tags=["schedules"], route_class=JsonRoute)
Group = Annotated[str, Query(alias="groupName", pattern=schemas.NAME_PATTERN)]


@router.post("/{name}", status_code=status.HTTP_201_CREATED)
async def create_schedule(
    name: str, body: schemas.ScheduleIn, session: SessionDep, state: StateDep
) -> schemas.SchedulePublic:
    return await use_cases.create(session, state.temporal, state.settings, name, body)


@router.put("/{name}")
async def update_schedule(
    name: str, body: schemas.ScheduleIn, session: SessionDep, state: StateDep
) -> schemas.SchedulePublic:
    return await use_cases.update(session, state.temporal, state.settings, name, body)


@router.get("")
async def list_schedules(
    session: SessionDep,
    state: StateDep,
    group_name: Annotated[str | None, Query(alias="groupName", pattern=schemas.NAME_PATTERN)] = None,
    name_prefix: Annotated[str, Query(alias="namePrefix", max_length=64)] = "",
    schedule_state: Annotated[str | None, Query(alias="state", pattern="^(ENABLED|DISABLED)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_token: Annotated[str | None, Query(alias="nextToken", max_length=1024)] = None,
) -> schemas.ScheduleList:
    return await use_cases.list_schedules(
        session, state.settings, group=group_name, prefix=name_prefix, state=schedule_state, limit=limit,
        next_token=next_token,
    )  # fmt: skip


@router.get("/{name}")
async def get_schedule(
    name: str, session: SessionDep, state: StateDep, group: Group = "default"
) -> schemas.SchedulePublic:
    return await use_cases.get(session, state.temporal, state.settings, name, group)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(
    name: str, session: SessionDep, state: StateDep, group: Group = "default"
) -> Response:
    await use_cases.delete(session, state.temporal, name, group)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@groups_router.post("/{name}", status_code=status.HTTP_201_CREATED)
async def create_schedule_group(
    name: str, session: SessionDep, state: StateDep
) -> schemas.ScheduleGroupPublic:
    if not use_cases.valid_name(name):
        raise use_cases.invalid_name(name)
    return await groups.create(session, state.settings, name)


@groups_router.get("")
async def list_schedule_groups(session: SessionDep, state: StateDep) -> list[schemas.ScheduleGroupPublic]:
    return await groups.list_groups(session, state.settings)


@groups_router.get("/{name}")
async def get_schedule_group(name: str, session: SessionDep, state: StateDep) -> schemas.ScheduleGroupPublic:
    return await groups.get(session, state.settings, name)


@groups_router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule_group(name: str, session: SessionDep, state: StateDep) -> Response:
    await groups.delete(session, state.temporal, state.settings, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
