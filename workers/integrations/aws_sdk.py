"""AWS SDK operations through botocore: the request serialized, signed and sent by botocore's own
client in a worker thread (the event loop stays free), the answer turned into the JSON Step Functions
returns, errors named as Step Functions names them.

Clients are kept per (service, endpoint, credentials); retries are off (ASL Retry is the only retry
authority)."""

from __future__ import annotations

import asyncio
import base64
import functools
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Final

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError, UnknownServiceError
from botocore.model import ServiceModel
from botocore.response import StreamingBody

from statemachine import JSON, StatesError
from workers.integrations.endpoints import Endpoint
from workers.integrations.errors import pascal_service, service_error, task_failed
from workers.integrations.members import to_model, to_pascal

SDK_NAMES: Final = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
    "cloudwatchevents": "events",
    "elasticloadbalancingv2": "elbv2",
    "elasticloadbalancing": "elb",
    "cognitoidentityprovider": "cognito-idp",
    "cognitoidentity": "cognito-identity",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "applicationautoscaling": "application-autoscaling",
}
"""Step Functions' ``aws-sdk`` service names that botocore spells otherwise."""
CALLS_IN_FLIGHT: Final = 64
"""Threads for AWS calls, apart from the loop's default executor (a few threads on a small machine,
which a wide Map of service Tasks would queue behind)."""
STREAM_LIMIT: Final = 1024 * 1024
"""At most this much of a streamed body (S3 GetObject) is read: more fails the Task with
States.DataLimitExceeded (its result could not be kept anyway: the limit is 256 KiB)."""


@functools.cache
def _catalog() -> botocore.session.Session:
    """The process's botocore session: models (loading one costs ~10-70 ms; each is kept) and
    clients (``AwsSdk`` creates them under its lock: the session is not thread-safe for that)."""
    return botocore.session.get_session()


@functools.lru_cache(maxsize=512)
def _operations(service: str) -> frozenset[str]:
    try:
        model = _catalog().get_service_model(SDK_NAMES.get(service, service))
    except UnknownServiceError:
        return frozenset()
    return frozenset(model.operation_names)


def known_operation(service: str, action: str) -> bool:
    """Whether the AWS SDK has ``<service>:<action>`` as an ``aws-sdk`` Resource names them
    (``s3``, ``getObject``): ``statemachine.KnownOperation`` for validating definitions."""
    return action[:1].upper() + action[1:] in _operations(service)


class AwsSdk:
    """Calls operations of any service in botocore's models."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._pool = ThreadPoolExecutor(max_workers=CALLS_IN_FLIGHT, thread_name_prefix="aws-sdk")
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str | None, str, str | None, str | None], Any] = {}
        self._codes: dict[str, dict[str, str]] = {}

    def service_model(self, service: str) -> ServiceModel:
        """The botocore model of a service as the ``aws-sdk`` resource names it.

        Raises:
            StatesError: no such service (States.TaskFailed).
        """
        name = SDK_NAMES.get(service, service)
        with self._lock:
            try:
                return _catalog().get_service_model(name)
            except UnknownServiceError:
                raise task_failed(f"The AWS SDK has no service '{service}'") from None

    def operation(self, model: ServiceModel, action: str) -> str:
        """``getItem`` -> ``GetItem``, checked against the model."""
        name = action[:1].upper() + action[1:]
        if name not in model.operation_names:
            service = model.service_name
            raise task_failed(f"The service '{service}' has no operation '{name}' (from '{action}')")
        return name

    async def call(
        self,
        model: ServiceModel,
        operation: str,
        params: Mapping[str, Any],
        endpoint: Endpoint,
        prefix: str,
        binary: bool = False,
    ) -> tuple[JSON, dict[str, Any]]:
        """The operation's answer as JSON (a streamed body read in the same worker thread), and
        botocore's ``ResponseMetadata``.

        Raises:
            StatesError: the service's error as ``<prefix>.<Error>Exception``; States.TaskFailed for a
                request the model refuses or an endpoint that cannot be reached.
        """
        call = functools.partial(self._call, model, operation, dict(params), endpoint, prefix, binary)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def _call(
        self,
        model: ServiceModel,
        operation: str,
        params: dict[str, Any],
        endpoint: Endpoint,
        prefix: str,
        binary: bool = False,
    ) -> tuple[JSON, dict[str, Any]]:
        client = self._client(model.service_name, endpoint)
        shapes = model.operation_model(operation)
        try:
            answer: dict[str, Any] = getattr(client, xform_name(operation))(
                **to_model(shapes.input_shape, params)
            )
        except ClientError as exc:
            raise service_error(
                prefix, dict(exc.response), self._error_codes(model), pascal_service(model.service_id)
            ) from None
        except ParamValidationError as exc:
            raise task_failed(f"{model.service_id} {operation}: {exc}") from None
        except BotoCoreError as exc:
            raise task_failed(f"{model.service_id} {operation} at {endpoint.url or 'AWS'}: {exc}") from None
        result = to_json(to_pascal(shapes.output_shape, answer), binary)
        return result, dict(answer.get("ResponseMetadata") or {})

    def _client(self, service: str, endpoint: Endpoint) -> Any:
        key = (service, endpoint.url, endpoint.region, endpoint.access_key_id, endpoint.secret_access_key)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                config = Config(
                    retries={"total_max_attempts": 1},
                    connect_timeout=min(10.0, self._timeout),
                    read_timeout=self._timeout,
                    user_agent_extra="stepline",
                )
                client = _catalog().create_client(
                    service,
                    region_name=endpoint.region,
                    endpoint_url=endpoint.url,
                    aws_access_key_id=endpoint.access_key_id,
                    aws_secret_access_key=endpoint.secret_access_key,
                    config=config,
                )
                self._clients[key] = client
            return client

    def _error_codes(self, model: ServiceModel) -> dict[str, str]:
        """Wire error code -> modelled error shape name (they differ for awsQuery-compatible services)."""
        codes = self._codes.get(model.service_name)
        if codes is None:
            codes = {}
            for shape in model.error_shapes:
                code = shape.metadata.get("error", {}).get("code")
                if isinstance(code, str):
                    codes[code] = shape.name
            self._codes[model.service_name] = codes
        return codes


def instant(moment: datetime) -> str:
    """A timestamp as the Java SDK's ``Instant`` prints it: UTC, ``Z``, fractions only when there are
    any (``2026-12-03T22:00:00Z``, ``2026-12-03T22:00:00.120Z``)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        micros = utc.microsecond
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def to_json(value: Any, binary: bool = False) -> JSON:
    """A botocore answer as JSON: timestamps as ISO 8601 text, blobs base64, streamed bodies as text
    (as base64 when ``binary``); botocore's ``ResponseMetadata`` left out."""
    if isinstance(value, dict):
        return {str(k): to_json(v, binary) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [to_json(v, binary) for v in value]
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, StreamingBody):
        data: bytes = value.read(STREAM_LIMIT + 1)
        value.close()
        if len(data) > STREAM_LIMIT:
            raise StatesError(
                "States.DataLimitExceeded",
                "The state/task 'aws-sdk' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )
        return base64.b64encode(data).decode() if binary else data.decode("utf-8", errors="replace")
    if isinstance(value, str | int | float | bool):
        return value
    return None if value is None else str(value)
