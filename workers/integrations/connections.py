"""Connections: how the HTTP Task authenticates, in EventBridge's shapes (``AuthorizationType`` API_KEY,
BASIC or OAUTH_CLIENT_CREDENTIALS and its ``AuthParameters``). The parameters are stored sealed; what
may be shown of them (``summary``) keeps no secret; the secrets are added to the request in the
worker, so they never enter the Task's parameters or the history."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from foundation.errors import InvalidRequest
from foundation.registry import integrations
from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer
from statemachine import StatesError

API_KEY: Final = "API_KEY"
BASIC: Final = "BASIC"
OAUTH: Final = "OAUTH_CLIENT_CREDENTIALS"
_SHAPES: Final = {
    API_KEY: ("ApiKeyAuthParameters", ("ApiKeyName",), ("ApiKeyValue",)),
    BASIC: ("BasicAuthParameters", ("Username",), ("Password",)),
}


def name_of(arn: str) -> str | None:
    """The connection an ARN (``...:connection/NAME[/ID]``) names."""
    _, found, rest = arn.partition(":connection/")
    name = rest.split("/", 1)[0]
    return name if found and name else None


def check(authorization_type: str, parameters: Any) -> dict[str, Any]:
    """What to show of valid ``AuthParameters`` (no secret).

    Raises:
        InvalidRequest: an unknown type, or parameters missing or not strings, naming which.
    """
    if not isinstance(parameters, dict):
        raise InvalidRequest("authParameters must be an object")
    return {**_authorization(authorization_type, parameters), **_invocation_summary(parameters)}


def _invocation_summary(parameters: dict[str, Any]) -> dict[str, Any]:
    """``InvocationHttpParameters`` as EventBridge shows them: a secret value (IsValueSecret) left out."""
    invocation = parameters.get("InvocationHttpParameters")
    if invocation is None:
        return {}
    if not isinstance(invocation, dict):
        raise InvalidRequest("authParameters.InvocationHttpParameters must be an object")
    shown: dict[str, Any] = {}
    for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
        entries = invocation.get(kind) or []
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("Key"), str) and isinstance(e.get("Value", ""), str)
            for e in entries
        ):
            raise InvalidRequest(
                f"authParameters.InvocationHttpParameters.{kind}: a list of {{Key, Value}} strings"
            )
        shown[kind] = [
            {k: v for k, v in e.items() if k != "Value" or not e.get("IsValueSecret")} for e in entries
        ]
    return {"InvocationHttpParameters": shown}


def _authorization(authorization_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    if authorization_type in _SHAPES:
        key, visible, secret = _SHAPES[authorization_type]
        part = _part(parameters, key, (*visible, *secret))
        return {key: {name: part[name] for name in visible}}
    if authorization_type == OAUTH:
        part = _part(parameters, "OAuthParameters", ("AuthorizationEndpoint", "HttpMethod"))
        client = _part(part, "ClientParameters", ("ClientID", "ClientSecret"), "OAuthParameters.")
        if part["HttpMethod"] not in ("GET", "POST", "PUT"):
            raise InvalidRequest("OAuthParameters.HttpMethod must be GET, POST or PUT")
        shown = {"AuthorizationEndpoint": part["AuthorizationEndpoint"], "HttpMethod": part["HttpMethod"]}
        return {"OAuthParameters": {**shown, "ClientParameters": {"ClientID": client["ClientID"]}}}
    raise InvalidRequest(
        f"authorizationType must be one of {API_KEY}, {BASIC}, {OAUTH}, not {authorization_type!r}"
    )


def _part(parameters: dict[str, Any], key: str, required: tuple[str, ...], where: str = "") -> dict[str, Any]:
    part = parameters.get(key)
    if not isinstance(part, dict):
        raise InvalidRequest(f"authParameters.{where}{key} is required (an object)")
    for name in required:
        if not isinstance(part.get(name), str) or not part[name]:
            raise InvalidRequest(f"authParameters.{where}{key}.{name} is required (a non-empty string)")
    return part


@dataclass(frozen=True, slots=True)
class Extras:
    """What a connection adds to a request besides its authorization header: its
    ``InvocationHttpParameters`` (query and body parameters; its headers go with the others)."""

    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    oauth_key: str | None = None
    """The OAuth token's cache key (None: not OAuth), to drop it when the API answers 401 or 407."""


def _invocation_parameters(parameters: dict[str, Any], kind: str) -> dict[str, str]:
    invocation = parameters.get("InvocationHttpParameters")
    entries = invocation.get(kind) if isinstance(invocation, dict) else None
    return {
        str(entry["Key"]): str(entry.get("Value", ""))
        for entry in entries or []
        if isinstance(entry, dict) and isinstance(entry.get("Key"), str)
    }


@dataclass(slots=True)
class _Token:
    value: str
    expires: float


@dataclass
class Authorizer:
    """Adds a connection's credentials to an HTTP Task's request."""

    sessions: SessionMaker | None
    sealer: Sealer | None
    _tokens: dict[str, _Token] = field(default_factory=dict)
    """By connection and version; a process holds as many as connections were used."""

    async def apply(
        self, arn: str, headers: dict[str, str], client: httpx.AsyncClient, allowed: Any
    ) -> Extras:
        """Set the connection's headers, over the Task's (``allowed(url)`` vets an OAuth token
        endpoint); the query and body parameters it adds.

        Raises:
            StatesError: States.TaskFailed for an unknown connection or a token endpoint that refuses.
        """
        name = name_of(arn)
        if name is None:
            raise StatesError("States.TaskFailed", f"Not a connection ARN: {arn}")
        if self.sessions is None or self.sealer is None:
            raise StatesError("States.TaskFailed", "This host has no connections")
        async with self.sessions() as session:
            row = await session.get(integrations.Connection, name)
        if row is None:
            raise StatesError("States.TaskFailed", f"Connection does not exist: {name} ({arn})")
        parameters = json.loads(self.sealer.open(row.parameters_sealed))
        headers.update(_invocation_parameters(parameters, "HeaderParameters"))
        query = _invocation_parameters(parameters, "QueryStringParameters")
        body = _invocation_parameters(parameters, "BodyParameters")
        if row.authorization_type == API_KEY:
            part = parameters["ApiKeyAuthParameters"]
            headers[part["ApiKeyName"]] = part["ApiKeyValue"]
        elif row.authorization_type == BASIC:
            part = parameters["BasicAuthParameters"]
            pair = f"{part['Username']}:{part['Password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            key = f"{name}/{row.updated_at.isoformat()}/{row.created_at.isoformat()}"
            token = await self._token(key, parameters["OAuthParameters"], client, allowed)
            headers["Authorization"] = f"Bearer {token}"
            return Extras(query, body, key)
        return Extras(query, body)

    def forget(self, oauth_key: str) -> None:
        """Drop a token the API refused (401 or 407): the next ``apply`` fetches another."""
        self._tokens.pop(oauth_key, None)

    async def _token(self, key: str, oauth: dict[str, Any], client: httpx.AsyncClient, allowed: Any) -> str:
        """A token for the connection version ``key`` (a connection made again gets its own)."""
        name = key.split("/", 1)[0]
        cached = self._tokens.get(key)
        if cached is not None and cached.expires > time.monotonic():
            return cached.value
        endpoint = oauth["AuthorizationEndpoint"]
        allowed(endpoint)
        credentials = oauth["ClientParameters"]
        try:
            answer = await client.request(
                oauth["HttpMethod"],
                endpoint,
                data={"grant_type": "client_credentials"},
                auth=(credentials["ClientID"], credentials["ClientSecret"]),
            )
            document = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise StatesError("States.TaskFailed", f"connection {name}: token endpoint: {exc}") from None
        token = document.get("access_token") if isinstance(document, dict) else None
        if not isinstance(token, str):
            raise StatesError(
                "States.TaskFailed",
                f"connection {name}: the token endpoint answered {answer.status_code} "
                "without an access_token",
            )
        lifetime = document.get("expires_in") if isinstance(document, dict) else None
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 300.0
        self._tokens[key] = _Token(token, time.monotonic() + max(0.0, seconds - 30))
        return token
