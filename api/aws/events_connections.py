"""EventBridge's connection operations on ``POST /`` (``X-Amz-Target: AWSEvents.<Op>``), over
``api.services.integrations``: CreateConnection, DescribeConnection, ListConnections and
DeleteConnection, so ``aws events create-connection`` makes the connections HTTP Tasks authenticate
with. The rest of EventBridge answers UnsupportedOperation. Only AWS's shapes are made here.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api import integration_schemas as schemas
from api.aws.errors import AwsError, common_error
from api.aws.json_protocol import Call, JsonService
from api.services import integrations as service
from foundation.errors import Conflict, InvalidRequest, NotFound
from foundation.registry.database import unit_of_work


def _state(public: schemas.ConnectionPublic, state: str | None = None) -> dict[str, Any]:
    return {
        "ConnectionArn": public.connection_arn,
        "ConnectionState": state or public.connection_state,
        "CreationTime": public.created_at,
        "LastModifiedTime": public.updated_at,
        "LastAuthorizedTime": public.updated_at,
    }


async def create_connection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    try:
        body = schemas.ConnectionCreate(
            name=params["Name"],
            authorization_type=params["AuthorizationType"],
            auth_parameters=params["AuthParameters"],
            description=params.get("Description", ""),
        )
    except ValidationError as exc:
        raise AwsError("ValidationException", str(exc.errors()[0]["msg"])) from None
    async with unit_of_work(call.state.sessions) as session:
        public = await service.create_connection(session, call.state.settings, body)
    found = _state(public)
    del found["LastAuthorizedTime"]
    return found


async def describe_connection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        public = await service.describe_connection(session, call.state.settings, params["Name"])
    return {
        **_state(public),
        "Name": public.name,
        "Description": public.description,
        "AuthorizationType": public.authorization_type,
        "AuthParameters": public.auth_parameters,
    }


async def list_connections(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        listed = await service.list_connections(session, call.state.settings)
    prefix = params.get("NamePrefix") or ""
    wanted = params.get("ConnectionState")
    return {
        "Connections": [
            {**_state(c), "Name": c.name, "AuthorizationType": c.authorization_type}
            for c in listed.connections
            if c.name.startswith(prefix) and wanted in (None, c.connection_state)
        ][: params.get("Limit") or 100]
    }


async def delete_connection(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    async with unit_of_work(call.state.sessions) as session:
        public = await service.describe_connection(session, call.state.settings, params["Name"])
        await service.delete_connection(session, params["Name"])
    return _state(public, "DELETING")


def events_error(exc: Exception, params: dict[str, Any], region: str) -> AwsError | None:
    """EventBridge's error for ``exc``; None when it is a bug."""
    if isinstance(exc, NotFound):
        name = params.get("Name", "")
        return AwsError(
            "ResourceNotFoundException",
            f"Failed to describe the connection(s). Connection '{name}' does not exist.",
        )
    if isinstance(exc, Conflict):
        return AwsError(
            "ResourceAlreadyExistsException", f"Connection {params.get('Name', '')} already exists."
        )
    if isinstance(exc, InvalidRequest):
        return AwsError("ValidationException", exc.detail)
    return common_error(exc)


def _unsupported(operation: str) -> str:
    return f"{operation} is not supported by Stepline: of EventBridge it serves the connections of HTTP Tasks"


EVENTS = JsonService(
    "AWSEvents",
    "events",
    {
        "CreateConnection": create_connection,
        "DescribeConnection": describe_connection,
        "ListConnections": list_connections,
        "DeleteConnection": delete_connection,
    },
    events_error,
    _unsupported,
)
