"""Invoking a function: check the request, resolve the function, run it in the pool, log and meter it.

Two entry points, one path below them (``run``), one request type (``FunctionCall``) and one result
type (``FunctionResult``) from the interpreter down to the sandbox's Runtime API and back, the
payload as bytes throughout:

- ``invoke(name, payload, ...)``: Lambda's Invoke API (the HTTP API, the AWS endpoint, queued Event
  invocations); an invocation that cannot run raises an ``InvokeError`` (a function's own failure
  is a result with ``function_error`` set, as Lambda returns it).
- ``invoke_for_state_machine(call)``: a Task state's invocation (``workers.contracts.Invoker``);
  invocation failures raise ``StatesError`` named as Step Functions names them.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime

from foundation.registry import functions as registry
from statemachine import FunctionCall, FunctionResult, StatesError, function_arn, parse_function_ref
from workers.attachments import AttachmentError
from workers.functions.config import MAX_PAYLOAD_BYTES, FunctionConfig
from workers.functions.errors import (
    InvalidParameterError,
    InvokeError,
    RequestTooLargeError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
)
from workers.functions.event_queue import EventQueue
from workers.functions.logs import LogBook, billed_ms, invocation_lines
from workers.functions.metrics import FunctionMetrics
from workers.functions.pool import EnvironmentPool
from workers.functions.resolver import ConfigResolver

STATE_MACHINE_PAYLOAD_BYTES = 256 * 1024
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_RESULT_BYTES = 4096


class Invocations:
    """The invocation path of one function runtime."""

    def __init__(
        self, resolver: ConfigResolver, pool: EnvironmentPool, logs: LogBook, metrics: FunctionMetrics,
        events: EventQueue,
    ) -> None:  # fmt: skip
        self._resolver = resolver
        self._pool = pool
        self._logs = logs
        self._metrics = metrics
        self._events = events

    async def invoke(
        self, name: str, payload: bytes, *, qualifier: str | None = None,
        invocation_type: str = "RequestResponse", timeout_seconds: float | None = None,
        client_context: str | None = None,
    ) -> FunctionResult:  # fmt: skip
        """Invoke ``name[:qualifier]`` with ``payload`` (the event's JSON text), as Lambda's Invoke does.

        ``invocation_type``: ``RequestResponse`` runs it and returns its result (status 200);
        ``Event`` queues it (202, ``request_id`` is the queue entry's); ``DryRun`` only resolves it
        (204). ``timeout_seconds`` shortens the function's own timeout; ``client_context`` is
        Lambda's ClientContext (base64 JSON). Raises an ``InvokeError`` when the invocation cannot
        run (unknown function, bad parameter, too large, throttled, no environment).
        """
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterError(f"X-Invocation-Type must be one of {', '.join(INVOCATION_TYPES)}")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            )
        config = await self._resolver.resolve(name, qualifier)
        if invocation_type == "DryRun":
            return FunctionResult(b"", executed_version=config.version, status_code=204)
        if invocation_type == "Event":
            event_id = await self._events.enqueue(name, qualifier, payload)
            return FunctionResult(b"", executed_version=config.version, request_id=event_id, status_code=202)
        function = f"{name}:{qualifier}" if qualifier else name
        call = FunctionCall(function, payload, timeout_seconds=timeout_seconds, client_context=client_context)
        return await self.run(config, call, timeout_seconds)

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        """A Task state's invocation: function errors in the result, invocation failures as StatesError."""
        try:
            name, qualifier = parse_function_ref(call.function)
        except ValueError as exc:
            raise StatesError("Lambda.ResourceNotFoundException", str(exc)) from None
        if len(call.payload) > STATE_MACHINE_PAYLOAD_BYTES:
            raise StatesError(
                "Lambda.RequestTooLargeException",
                f"The payload ({len(call.payload)} bytes) is over {STATE_MACHINE_PAYLOAD_BYTES} bytes",
            )
        try:
            config = await self._resolver.resolve(name, qualifier)
            limit = call.timeout_seconds
            state_timeout = limit is not None and limit < config.timeout_seconds
            result = await self.run(config, call, limit if state_timeout else None)
        except InvokeError as exc:
            raise StatesError(f"Lambda.{exc.code}", sdk_cause(exc, name, qualifier)) from None
        if state_timeout and result.error_type == "Sandbox.Timedout":
            raise StatesError("States.Timeout", f"Task timed out after {limit} seconds")
        return result

    async def run(
        self, config: FunctionConfig, call: FunctionCall, timeout_seconds: float | None
    ) -> FunctionResult:
        """Run ``call`` in an environment of ``config`` (for ``timeout_seconds``, else the function's
        own timeout): metered, logged (the result's ``log_result`` is its log's tail)."""
        request_id = str(uuid.uuid4())
        seconds = timeout_seconds if timeout_seconds is not None else config.timeout_seconds
        metrics = self._metrics
        label = config.name
        metrics.invocations.labels(label).inc()
        gauge = metrics.concurrent.labels(label)
        gauge.inc()
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        try:
            result, output, cold = await self._pool.invoke(config, call, request_id, seconds)
        except TooManyRequestsError:
            metrics.throttles.labels(label).inc()
            raise
        except AttachmentError as exc:
            raise InvalidParameterError(str(exc)) from None
        except (OSError, RuntimeError) as exc:
            raise ServiceError(f"could not start an execution environment: {exc}") from exc
        finally:
            gauge.dec()
            metrics.environments.set(self._pool.size)
        duration = result.duration_ms or (time.perf_counter() - started) * 1000
        lines = invocation_lines(
            request_id, config.version, output, duration_ms=duration, memory_mb=config.memory_mb,
            max_memory_mb=result.max_memory_mb, init_duration_ms=result.init_duration_ms,
        )  # fmt: skip
        self._logs.add(config.name, request_id, lines, started_at)
        metrics.duration.labels(label).observe(duration / 1000)
        metrics.billed_gb_seconds.labels(label).inc(billed_ms(duration) / 1000 * config.memory_mb / 1024)
        if cold:
            metrics.cold_starts.labels(label).inc()
        if result.error_type is not None:
            metrics.errors.labels(label).inc()
        tail = "\n".join(lines).encode()[-LOG_RESULT_BYTES:]
        return FunctionResult(
            result.payload, result.function_error, result.executed_version, request_id,
            error_type=result.error_type, duration_ms=duration, init_duration_ms=result.init_duration_ms,
            max_memory_mb=result.max_memory_mb, log_result=base64.b64encode(tail).decode(),
        )  # fmt: skip


def sdk_cause(exc: InvokeError, name: str, qualifier: str | None) -> str:
    """The cause Step Functions gives a failed Lambda call: the SDK's message and its details."""
    message = exc.message
    if isinstance(exc, ResourceNotFoundError):
        message = f"Function not found: {function_arn(name, qualifier or registry.LATEST)}"
    return (
        f"{message} (Service: AWSLambda; Status Code: {exc.status}; Error Code: {exc.code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )
