"""Where each service's calls go: the endpoint stored through ``/v1/service-endpoints`` (the registry,
its secret sealed), else ``STEPLINE_INTEGRATIONS__ENDPOINTS``; the service's own entry first, then
``*``. A service with neither is refused, naming what to configure: never a call to AWS by default."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from foundation.registry import integrations
from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer
from foundation.settings import IntegrationSettings
from statemachine import StatesError

FRESH_SECONDS: Final = 2.0
"""How long a worker keeps using an endpoint it read: a change through /v1 applies within it."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One service's endpoint and credentials."""

    url: str | None
    """None: AWS's own endpoint for ``region``."""
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


def not_configured(service: str) -> StatesError:
    return StatesError(
        "States.TaskFailed",
        f"No endpoint is configured for the service '{service}': an operator sets one with "
        f"PUT /v1/service-endpoints/{service} (or '*' for every service), or "
        f'STEPLINE_INTEGRATIONS__ENDPOINTS=\'{{"{service}": {{"url": ...}}}}\'',
    )


class Endpoints:
    """Resolves a botocore service name to its ``Endpoint``."""

    def __init__(
        self, settings: IntegrationSettings, region: str, sessions: SessionMaker | None, sealer: Sealer | None
    ) -> None:
        self._settings = settings
        self._region = region
        self._sessions = sessions
        self._sealer = sealer
        self._recent: dict[str, tuple[float, Endpoint | None]] = {}

    async def _stored(self, service: str) -> Endpoint | None:
        """The registry's endpoint, read at most once per ``FRESH_SECONDS`` per service (a wide Map
        of service Tasks would otherwise read it once per item)."""
        now = time.monotonic()
        recent = self._recent.get(service)
        if recent is not None and now - recent[0] < FRESH_SECONDS:
            return recent[1]
        assert self._sessions is not None
        async with self._sessions() as session:
            row = await integrations.find_endpoint(session, service)
        found = None
        if row is not None:
            secret = None
            if row.secret_sealed is not None and self._sealer is not None:
                secret = self._sealer.open(row.secret_sealed)
            found = Endpoint(row.url, row.region or self._region, row.access_key_id, secret)
        self._recent[service] = (now, found)
        return found

    async def resolve(self, service: str) -> Endpoint:
        """Raises ``StatesError`` (States.TaskFailed) when nothing is configured for ``service``."""
        if self._sessions is not None and (stored := await self._stored(service)) is not None:
            return stored
        configured = self._settings.endpoints.get(service) or self._settings.endpoints.get("*")
        if configured is None:
            raise not_configured(service)
        sealed = configured.secret_access_key
        return Endpoint(
            configured.url,
            configured.region or self._region,
            configured.access_key_id,
            sealed.get_secret_value() if sealed is not None else None,
        )
