"""Routes for file systems and their access points (thin: schema in, service call, schema out)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import resource_schemas as schemas
from api.deps import SessionDep, SettingsDep
from api.json_input import JsonRoute
from api.services import resources as service

router = APIRouter(prefix="/v1/file-systems", tags=["file systems"], route_class=JsonRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_file_system(
    body: schemas.FileSystemCreate, session: SessionDep, settings: SettingsDep
) -> schemas.FileSystemPublic:
    return await service.create_file_system(session, settings, body)


@router.get("")
async def list_file_systems(session: SessionDep) -> schemas.FileSystemList:
    return await service.list_file_systems(session)


@router.get("/{name}")
async def describe_file_system(name: str, session: SessionDep) -> schemas.FileSystemPublic:
    return await service.describe_file_system(session, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file_system(name: str, session: SessionDep) -> Response:
    await service.delete_file_system(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/access-points", status_code=status.HTTP_201_CREATED)
async def create_access_point(
    name: str, body: schemas.AccessPointCreate, session: SessionDep
) -> schemas.AccessPointPublic:
    return await service.create_access_point(session, name, body)


@router.get("/{name}/access-points")
async def list_access_points(name: str, session: SessionDep) -> schemas.AccessPointList:
    return await service.list_access_points(session, name)


@router.get("/{name}/access-points/{access_point}")
async def describe_access_point(
    name: str, access_point: str, session: SessionDep
) -> schemas.AccessPointPublic:
    return await service.describe_access_point(session, name, access_point)


@router.delete("/{name}/access-points/{access_point}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_access_point(name: str, access_point: str, session: SessionDep) -> Response:
    await service.delete_access_point(session, name, access_point)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
