"""Service integrations of Task states: where each service's calls go, and the connections the HTTP
Task authenticates with.

Secrets (an endpoint's secret access key, a connection's API key value, password or client secret)
are stored sealed (``foundation.sealing``) and never shown; repositories take a session and never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, String, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import foundation.registry.database  # noqa: F401  (naming convention before any table)
from foundation.errors import Conflict, NotFound


def utcnow() -> datetime:
    return datetime.now(UTC)


class ServiceEndpoint(SQLModel, table=True):
    """Where one service's calls go (``*``: every service without its own row)."""

    __tablename__ = "service_endpoint"

    service: str = Field(primary_key=True, max_length=64)
    """The botocore service name: ``dynamodb``, ``s3``, ``sqs``, ``sns``, ``events``, ... or ``*``."""
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """None: AWS's own endpoint for the region."""
    region: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    access_key_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    secret_sealed: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The secret access key, encrypted."""
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Connection(SQLModel, table=True):
    """How the HTTP Task authenticates to an API, as EventBridge's connections say it."""

    __tablename__ = "connection"

    name: str = Field(primary_key=True, max_length=64)
    authorization_type: str = Field(sa_column=Column(String(32), nullable=False))
    """``API_KEY``, ``BASIC`` or ``OAUTH_CLIENT_CREDENTIALS``."""
    parameters_sealed: str = Field(sa_column=Column(Text, nullable=False))
    """The authorization parameters as JSON text, encrypted (they hold the secrets)."""
    summary: str = Field(sa_column=Column(Text, nullable=False))
    """What may be shown of them (JSON text: the key name, user name, client id, token endpoint)."""
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


async def put_endpoint(session: AsyncSession, endpoint: ServiceEndpoint) -> ServiceEndpoint:
    """Create or replace a service's endpoint."""
    existing = await session.get(ServiceEndpoint, endpoint.service)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    session.add(endpoint)
    await session.flush()
    return endpoint


async def find_endpoint(session: AsyncSession, service: str) -> ServiceEndpoint | None:
    """The service's own endpoint, else the ``*`` one, else None."""
    rows = await session.exec(select(ServiceEndpoint).where(col(ServiceEndpoint.service).in_((service, "*"))))
    found = {row.service: row for row in rows}
    return found.get(service) or found.get("*")


async def get_endpoint(session: AsyncSession, service: str) -> ServiceEndpoint:
    endpoint = await session.get(ServiceEndpoint, service)
    if endpoint is None:
        raise NotFound(f"No endpoint is configured for the service '{service}'")
    return endpoint


async def list_endpoints(session: AsyncSession) -> Sequence[ServiceEndpoint]:
    return (await session.exec(select(ServiceEndpoint).order_by(col(ServiceEndpoint.service)))).all()


async def delete_endpoint(session: AsyncSession, service: str) -> None:
    await session.delete(await get_endpoint(session, service))
    await session.flush()


async def add_connection(session: AsyncSession, connection: Connection) -> Connection:
    if await session.get(Connection, connection.name) is not None:
        raise Conflict(f"Connection already exists: {connection.name}")
    session.add(connection)
    await session.flush()
    return connection


async def get_connection(session: AsyncSession, name: str) -> Connection:
    connection = await session.get(Connection, name)
    if connection is None:
        raise NotFound(f"Connection does not exist: {name}")
    return connection


async def list_connections(session: AsyncSession) -> Sequence[Connection]:
    return (await session.exec(select(Connection).order_by(col(Connection.name)))).all()


async def delete_connection(session: AsyncSession, name: str) -> None:
    await session.delete(await get_connection(session, name))
    await session.flush()
