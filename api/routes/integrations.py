"""Routes for service integrations (thin): where each service's calls go, and HTTP Task connections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api import integration_schemas as schemas
from api.deps import SessionDep, SettingsDep
from api.json_input import JsonRoute
from api.services import integrations as use_cases

router = APIRouter(prefix="/v1", tags=["service integrations"], route_class=JsonRoute)

ServiceName = Annotated[str, Path(pattern=schemas.SERVICE_NAME)]
ConnectionName = Annotated[str, Path(pattern=schemas.CONNECTION_NAME)]


@router.put("/service-endpoints/{service}")
async def put_service_endpoint(
    service: ServiceName,
    body: schemas.ServiceEndpointPut,
    session: SessionDep,
    settings: SettingsDep,
) -> schemas.ServiceEndpointPublic:
    """Send Task states' calls of ``service`` (a botocore name, or ``*`` for every other) there."""
    return await use_cases.put_endpoint(session, settings, service, body)


@router.get("/service-endpoints")
async def list_service_endpoints(session: SessionDep) -> schemas.ServiceEndpointList:
    return await use_cases.list_endpoints(session)


@router.get("/service-endpoints/{service}")
async def describe_service_endpoint(
    service: ServiceName, session: SessionDep
) -> schemas.ServiceEndpointPublic:
    return await use_cases.describe_endpoint(session, service)


@router.delete("/service-endpoints/{service}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_service_endpoint(service: ServiceName, session: SessionDep) -> Response:
    await use_cases.delete_endpoint(session, service)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/connections", status_code=status.HTTP_201_CREATED)
async def create_connection(
    body: schemas.ConnectionCreate, session: SessionDep, settings: SettingsDep
) -> schemas.ConnectionPublic:
    """A connection for HTTP Tasks (``Authentication.ConnectionArn``); its secrets are stored sealed."""
    return await use_cases.create_connection(session, settings, body)


@router.get("/connections")
async def list_connections(session: SessionDep, settings: SettingsDep) -> schemas.ConnectionList:
    return await use_cases.list_connections(session, settings)


@router.get("/connections/{name}")
async def describe_connection(
    name: ConnectionName, session: SessionDep, settings: SettingsDep
) -> schemas.ConnectionPublic:
    return await use_cases.describe_connection(session, settings, name)


@router.delete("/connections/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(name: ConnectionName, session: SessionDep) -> Response:
    await use_cases.delete_connection(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
