"""Use cases for service integrations: the endpoint each service's calls go to, and the connections
HTTP Tasks authenticate with. Secrets are sealed before they are stored."""

from __future__ import annotations

import json

from sqlmodel.ext.asyncio.session import AsyncSession

from api import integration_schemas as schemas
from foundation.registry import integrations
from foundation.sealing import Sealer
from foundation.settings import Settings
from statemachine import connection_arn
from workers.integrations import connections


def _sealer(settings: Settings) -> Sealer:
    secret = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return Sealer.from_settings(secret, settings.data_dir)


def _endpoint_public(row: integrations.ServiceEndpoint) -> schemas.ServiceEndpointPublic:
    return schemas.ServiceEndpointPublic(
        service=row.service,
        url=row.url,
        region=row.region,
        access_key_id=row.access_key_id,
        has_secret=row.secret_sealed is not None,
        updated_at=row.updated_at,
    )


async def put_endpoint(
    session: AsyncSession, settings: Settings, service: str, body: schemas.ServiceEndpointPut
) -> schemas.ServiceEndpointPublic:
    secret = body.secret_access_key
    row = integrations.ServiceEndpoint(
        service=service,
        url=body.url,
        region=body.region,
        access_key_id=body.access_key_id,
        secret_sealed=_sealer(settings).seal(secret) if secret is not None else None,
        updated_at=integrations.utcnow(),
    )
    return _endpoint_public(await integrations.put_endpoint(session, row))


async def describe_endpoint(session: AsyncSession, service: str) -> schemas.ServiceEndpointPublic:
    return _endpoint_public(await integrations.get_endpoint(session, service))


async def list_endpoints(session: AsyncSession) -> schemas.ServiceEndpointList:
    rows = await integrations.list_endpoints(session)
    return schemas.ServiceEndpointList(service_endpoints=[_endpoint_public(r) for r in rows])


async def delete_endpoint(session: AsyncSession, service: str) -> None:
    await integrations.delete_endpoint(session, service)


def _connection_public(row: integrations.Connection, settings: Settings) -> schemas.ConnectionPublic:
    return schemas.ConnectionPublic(
        name=row.name,
        connection_arn=connection_arn(row.name, settings.region),
        authorization_type=row.authorization_type,
        auth_parameters=json.loads(row.summary),
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_connection(
    session: AsyncSession, settings: Settings, body: schemas.ConnectionCreate
) -> schemas.ConnectionPublic:
    summary = connections.check(body.authorization_type, body.auth_parameters)
    now = integrations.utcnow()
    row = integrations.Connection(
        name=body.name,
        authorization_type=body.authorization_type,
        parameters_sealed=_sealer(settings).seal(json.dumps(body.auth_parameters)),
        summary=json.dumps(summary),
        description=body.description,
        created_at=now,
        updated_at=now,
    )
    return _connection_public(await integrations.add_connection(session, row), settings)


async def describe_connection(
    session: AsyncSession, settings: Settings, name: str
) -> schemas.ConnectionPublic:
    return _connection_public(await integrations.get_connection(session, name), settings)


async def list_connections(session: AsyncSession, settings: Settings) -> schemas.ConnectionList:
    rows = await integrations.list_connections(session)
    return schemas.ConnectionList(connections=[_connection_public(r, settings) for r in rows])


async def delete_connection(session: AsyncSession, name: str) -> None:
    await integrations.delete_connection(session, name)
