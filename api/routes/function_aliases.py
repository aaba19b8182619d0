"""Routes for function aliases (thin: schema in, use case, schema out); a change drops the runtime's
cached configuration of the function, so the next invocation of the alias runs what it now names."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response, status

from api import alias_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.routes.functions import RuntimeDep
from api.services import aliases as use_cases

router = APIRouter(prefix="/v1/functions/{function}/aliases", tags=["functions"], route_class=JsonRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_alias(
    function: str, body: schemas.AliasCreate, session: SessionDep, state: StateDep
) -> schemas.AliasPublic:
    return await use_cases.create_alias(session, function, body, state.settings.region)


@router.get("")
async def list_aliases(
    function: str, session: SessionDep, state: StateDep, function_version: str | None = None
) -> schemas.AliasList:
    return await use_cases.list_aliases(session, function, state.settings.region, function_version)


@router.get("/{name}")
async def get_alias(function: str, name: str, session: SessionDep, state: StateDep) -> schemas.AliasPublic:
    return await use_cases.get_alias(session, function, name, state.settings.region)


@router.put("/{name}")
async def update_alias(
    function: str, name: str, body: schemas.AliasUpdate, session: SessionDep, state: StateDep,
    runtime: RuntimeDep, background: BackgroundTasks,
) -> schemas.AliasPublic:  # fmt: skip
    updated = await use_cases.update_alias(session, function, name, body, state.settings.region)
    background.add_task(runtime.changed, function, provision=True)
    return updated


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_alias(
    function: str, name: str, session: SessionDep, runtime: RuntimeDep, background: BackgroundTasks
) -> Response:
    await use_cases.delete_alias(session, function, name)
    background.add_task(runtime.changed, function, provision=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{name}/concurrency")
async def set_alias_concurrency(
    function: str, name: str, body: schemas.AliasConcurrency, session: SessionDep, state: StateDep,
    runtime: RuntimeDep, background: BackgroundTasks,
) -> schemas.AliasPublic:  # fmt: skip
    settings = state.settings
    result = await use_cases.set_provisioned(
        session, function, name, body.provisioned, settings.sandbox.max_environments, settings.region
    )
    background.add_task(runtime.changed, function, provision=True)
    return result
