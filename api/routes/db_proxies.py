"""Routes for db proxies (thin: schema in, service call, schema out)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import resource_schemas as schemas
from api.deps import SessionDep, SettingsDep
from api.json_input import JsonRoute
from api.services import proxy_status
from api.services import resources as service

router = APIRouter(prefix="/v1/db-proxies", tags=["db proxies"], route_class=JsonRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_db_proxy(
    body: schemas.DbProxyCreate, session: SessionDep, settings: SettingsDep
) -> schemas.DbProxyPublic:
    return await service.create_db_proxy(session, settings, body)


@router.get("")
async def list_db_proxies(session: SessionDep) -> schemas.DbProxyList:
    return await service.list_db_proxies(session)


@router.get("/{name}")
async def describe_db_proxy(name: str, session: SessionDep) -> schemas.DbProxyPublic:
    return await service.describe_db_proxy(session, name)


@router.get("/{name}/status")
async def db_proxy_status(name: str, session: SessionDep) -> schemas.DbProxyStatus:
    """Every process's pool of the proxy (open, busy and idle connections, waiters) and their totals."""
    return await proxy_status.db_proxy_status(session, name)


@router.put("/{name}")
async def update_db_proxy(
    name: str, body: schemas.DbProxyUpdate, session: SessionDep, settings: SettingsDep
) -> schemas.DbProxyPublic:
    """Change pool size, timeouts or target; every process's running proxy follows within ~10 s."""
    return await service.update_db_proxy(session, settings, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_db_proxy(name: str, session: SessionDep) -> Response:
    await service.delete_db_proxy(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
