"""One entry for every service call of a Task state: ``Integrations.call(ServiceCall) -> JSON text``."""

from __future__ import annotations

import json
from typing import Any

from foundation.registry.database import SessionMaker
from foundation.sealing import Sealer
from foundation.settings import IntegrationSettings, Settings
from statemachine import JSON, ServiceCall, StatesError
from workers.integrations import local_bus, optimized
from workers.integrations.aws_sdk import AwsSdk
from workers.integrations.connections import Authorizer
from workers.integrations.endpoints import Endpoint, Endpoints
from workers.integrations.errors import OPTIMIZED_PREFIXES, pascal_service
from workers.integrations.file_buckets import FileBuckets
from workers.integrations.http_task import HttpTask
from workers.integrations.local_bus import LOCAL_BUS_URL


def for_settings(settings: Settings, sessions: SessionMaker) -> Integrations:
    """The integrations of a worker (or an API running synchronous executions) with its registry."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    sealer = Sealer.from_settings(secret, settings.data_dir)
    buckets = FileBuckets(settings.data_dir, sessions)
    return Integrations(settings.integrations, settings.region, sessions, sealer, buckets)


class Integrations:
    """Calls services for Task states at the endpoints the operator configured."""

    def __init__(
        self,
        settings: IntegrationSettings,
        region: str,
        sessions: SessionMaker | None = None,
        sealer: Sealer | None = None,
        buckets: FileBuckets | None = None,
    ) -> None:
        """``buckets``: where s3 calls go while no endpoint is configured for ``s3``."""
        self._buckets = buckets
        self._sessions = sessions
        self._endpoints = Endpoints(settings, region, sessions, sealer)
        self._sdk = AwsSdk(settings.timeout_seconds)
        self._http = HttpTask(
            settings.http_allowed_hosts, settings.timeout_seconds, Authorizer(sessions, sealer)
        )

    async def call(self, call: ServiceCall) -> str:
        """The Task's result as JSON text; raises ``StatesError`` as Step Functions names it."""
        try:
            parameters: JSON = json.loads(call.parameters)
        except ValueError:
            raise StatesError("States.Runtime", "the Task's parameters are not JSON") from None
        if call.kind == "http":
            result = await self._http.invoke(parameters)
        elif call.kind == "optimized":
            result = await self._optimized(call, parameters)
        else:
            result = await self._aws_sdk(call, parameters)
        return json.dumps(result, separators=(",", ":"), ensure_ascii=False)

    async def _optimized(self, call: ServiceCall, parameters: JSON) -> JSON:
        operation, params = optimized.request(
            call.service, call.action, parameters, call.execution_arn, call.state_machine_arn
        )
        model = self._sdk.service_model(call.service)
        endpoint = await self._endpoints.resolve(model.service_name)
        if (local := await self._local_bus(endpoint, operation, params)) is not None:
            return optimized.response(call.service, local, {})
        answer, metadata = await self._sdk.call(
            model, operation, params, endpoint, OPTIMIZED_PREFIXES[call.service]
        )
        assert isinstance(answer, dict)  # every operation answers a structure
        return optimized.response(call.service, answer, metadata)

    async def _aws_sdk(self, call: ServiceCall, parameters: JSON) -> JSON:
        model = self._sdk.service_model(call.service)
        operation = self._sdk.operation(model, call.action)
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict):
            raise StatesError(
                "States.Runtime", f"The parameters of aws-sdk:{call.service}:{call.action} must be an object"
            )
        params: dict[str, Any] = parameters
        try:
            endpoint = await self._endpoints.resolve(model.service_name)
        except StatesError:
            if model.service_name != "s3" or self._buckets is None:
                raise
            return await self._buckets.call(call.action, params, call.binary_body)
        if (local := await self._local_bus(endpoint, operation, params)) is not None:
            return local
        prefix = pascal_service(model.service_id)
        answer, _ = await self._sdk.call(model, operation, params, endpoint, prefix, call.binary_body)
        return answer

    async def _local_bus(
        self, endpoint: Endpoint, operation: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """PutEvents' answer when ``events`` points at Stepline's own bus (``local_bus``); else None."""
        if endpoint.url != LOCAL_BUS_URL or self._sessions is None:
            return None
        if operation != "PutEvents":
            raise StatesError(
                "States.TaskFailed", f"Stepline's own event bus serves PutEvents, not {operation}"
            )
        return await local_bus.put_events(self._sessions, params)
