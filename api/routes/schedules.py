"""Routes for schedules (thin): ``/v1/schedules/{name}`` (EventBridge Scheduler-style)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import schedule_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import schedules as use_cases

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=JsonRoute)


@router.post("/{name}", status_code=status.HTTP_201_CREATED)
async def create_schedule(
    name: str, body: schemas.ScheduleIn, session: SessionDep, state: StateDep
) -> schemas.SchedulePublic:
    return await use_cases.create(session, state.temporal, state.settings, name, body)


@router.get("/{name}")
async def get_schedule(name: str, session: SessionDep, state: StateDep) -> schemas.SchedulePublic:
    return await use_cases.get(session, state.temporal, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(name: str, state: StateDep) -> Response:
    await use_cases.delete(state.temporal, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
