"""Routes for asynchronous invocation settings (thin): ``/v1/functions/{function}/event-invoke-config``,
``?qualifier=`` naming a version or an alias. PUT replaces, PATCH changes the members given."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import event_invoke_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.services import event_invoke as use_cases

router = APIRouter(
    prefix="/v1/functions/{function}/event-invoke-config", tags=["functions"], route_class=JsonRoute
)


@router.put("")
async def put_event_invoke_config(
    function: str, body: schemas.EventInvokeConfigIn, session: SessionDep, state: StateDep,
    qualifier: str | None = None,
) -> schemas.EventInvokeConfigPublic:  # fmt: skip
    return await use_cases.put_config(session, function, qualifier, body, state.settings.region)


@router.patch("")
async def update_event_invoke_config(
    function: str, body: schemas.EventInvokeConfigIn, session: SessionDep, state: StateDep,
    qualifier: str | None = None,
) -> schemas.EventInvokeConfigPublic:  # fmt: skip
    return await use_cases.put_config(session, function, qualifier, body, state.settings.region, update=True)


@router.get("")
async def get_event_invoke_config(
    function: str, session: SessionDep, state: StateDep, qualifier: str | None = None
) -> schemas.EventInvokeConfigPublic:
    return await use_cases.get_config(session, function, qualifier, state.settings.region)


@router.get("/list")
async def list_event_invoke_configs(
    function: str, session: SessionDep, state: StateDep
) -> schemas.EventInvokeConfigList:
    return await use_cases.list_configs(session, function, state.settings.region)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def delete_event_invoke_config(
    function: str, session: SessionDep, qualifier: str | None = None
) -> Response:
    await use_cases.delete_config(session, function, qualifier)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
