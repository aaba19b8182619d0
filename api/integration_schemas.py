"""Request and response bodies for service endpoints and HTTP Task connections (camelCase JSON).

Secrets go in once and never come back out: an endpoint shows ``hasSecret``, a connection its
``authParameters`` without the key value, password or client secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas import Schema

SERVICE_NAME = r"^(\*|[a-z0-9][a-z0-9-]{0,63})$"
"""A botocore service name (``dynamodb``, ``s3``, ``cognito-idp``) or ``*`` (every other service)."""
CONNECTION_NAME = r"^[\.\-_A-Za-z0-9]{1,64}$"
"""EventBridge's connection name pattern."""


class ServiceEndpointPut(Schema):
    url: str | None = Field(default=None, min_length=1, max_length=2000, pattern=r"^https?://")
    """Where the service's calls go; omitted: AWS's own endpoint for the region."""
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]{1,64}$")
    access_key_id: str | None = Field(default=None, min_length=1, max_length=128)
    secret_access_key: str | None = Field(default=None, min_length=1, max_length=1024)


class ServiceEndpointPublic(Schema):
    service: str
    url: str | None
    region: str | None
    access_key_id: str | None
    has_secret: bool
    updated_at: datetime


class ServiceEndpointList(Schema):
    service_endpoints: list[ServiceEndpointPublic]


class ConnectionCreate(Schema):
    """EventBridge's CreateConnection, for the HTTP Task: ``authParameters`` in its shape
    (``ApiKeyAuthParameters``, ``BasicAuthParameters`` or ``OAuthParameters``)."""

    name: str = Field(pattern=CONNECTION_NAME)
    authorization_type: str
    auth_parameters: dict[str, Any]
    description: str = Field(default="", max_length=512)


class ConnectionPublic(Schema):
    name: str
    connection_arn: str
    authorization_type: str
    connection_state: str = "AUTHORIZED"
    auth_parameters: dict[str, Any]
    """Without secrets."""
    description: str
    created_at: datetime
    updated_at: datetime


class ConnectionList(Schema):
    connections: list[ConnectionPublic]
