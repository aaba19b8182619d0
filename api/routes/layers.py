"""Routes for layers (thin: schema in, use case, schema out)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api import layer_schemas as schemas
from api.deps import SessionDep, StateDep
from api.json_input import JsonRoute
from api.routes.functions import RuntimeDep
from api.services import layer_permissions
from api.services import layers as use_cases

router = APIRouter(prefix="/v1/layers", tags=["layers"], route_class=JsonRoute)
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/{name}/versions", status_code=status.HTTP_201_CREATED)
async def publish_layer_version(
    name: str, body: schemas.LayerPublish, session: SessionDep, state: StateDep, runtime: RuntimeDep
) -> schemas.LayerVersionPublic:
    return await use_cases.publish(session, runtime.code, name, body, state.settings.region)


@router.get("")
async def list_layers(
    session: SessionDep,
    state: StateDep,
    compatible_runtime: Annotated[str | None, Query(alias="compatibleRuntime")] = None,
) -> schemas.LayerVersionList:
    """Each layer's newest version (compatible with ``compatibleRuntime`` when given)."""
    return await use_cases.list_latest(session, state.settings.region, compatible_runtime)


@router.get("/{name}/versions")
async def list_layer_versions(
    name: str,
    session: SessionDep,
    state: StateDep,
    compatible_runtime: Annotated[str | None, Query(alias="compatibleRuntime")] = None,
) -> schemas.LayerVersionList:
    return await use_cases.list_versions(session, name, state.settings.region, compatible_runtime)


@router.get("/{name}/versions/{version}")
async def get_layer_version(
    name: str, version: VersionNumber, session: SessionDep, state: StateDep
) -> schemas.LayerVersionPublic:
    return await use_cases.get_version(session, name, version, state.settings.region)


@router.delete("/{name}/versions/{version}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_layer_version(name: str, version: VersionNumber, session: SessionDep) -> Response:
    """Functions that use the version keep running it."""
    await use_cases.delete_version(session, name, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/versions/{version}/policy", status_code=status.HTTP_201_CREATED)
async def add_layer_version_permission(
    name: str, version: VersionNumber, body: schemas.LayerPermissionAdd, session: SessionDep, state: StateDep
) -> schemas.LayerPermissionAdded:
    """Grant ``lambda:GetLayerVersion`` on the version (Lambda's AddLayerVersionPermission)."""
    return await layer_permissions.add_permission(session, name, version, body, state.settings.region)


@router.get("/{name}/versions/{version}/policy")
async def get_layer_version_policy(
    name: str, version: VersionNumber, session: SessionDep
) -> schemas.LayerPolicy:
    return await layer_permissions.get_policy(session, name, version)


@router.delete("/{name}/versions/{version}/policy/{statement_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_layer_version_permission(
    name: str,
    version: VersionNumber,
    statement_id: str,
    session: SessionDep,
    revision_id: Annotated[str | None, Query(alias="revisionId", max_length=36)] = None,
) -> Response:
    await layer_permissions.remove_permission(session, name, version, statement_id, revision_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
