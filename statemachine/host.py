"""The contract between the interpreter and whatever hosts it.

The interpreter never touches a clock, a socket or a random source itself: everything with an
effect goes through a ``Host``. The local in-memory host (tests, conformance, synchronous
executions) and the durable Temporal workflow both implement it, so semantics are tested once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from statemachine.json_types import JSON


@dataclass(slots=True)
class FunctionCall:
    """One invocation of a user function: the one request type from a Task state (or the Invoke API)
    down to the sandbox's Runtime API, the payload as bytes all the way (``workers/payloads.py``
    carries it through Temporal as it is).

    Read-only by convention; not frozen for the reason ``FunctionResult`` is not.
    """

    function: str
    """The function as the state names it: a name, a partial or full Lambda ARN, maybe ``:qualifier``."""
    payload: bytes
    """The event, as JSON text."""
    timeout_seconds: float | None = None
    """The Task state's TimeoutSeconds (None: the function's own timeout applies)."""
    heartbeat_seconds: float | None = None
    """The Task state's HeartbeatSeconds."""
    state_name: str = ""
    """The Task state that makes the call (for logs and metrics)."""
    client_context: str | None = None
    """Lambda's ClientContext (base64 JSON, the Invoke API's X-Amz-Client-Context), for the function's
    ``context.client_context``; synchronous invocations only, as in Lambda."""


@dataclass(slots=True)
class FunctionResult:
    """What one invocation returned, as Lambda's Invoke API reports it: the one result type from the
    sandbox back to the interpreter (and to the Invoke API).

    Read-only by convention. Not a frozen dataclass only because it is built twice on a warm
    invocation's path and a frozen one's ``__init__`` costs four times as much (ten fields).
    """

    payload: bytes
    """The function's response (JSON text), or on a function error its error document."""
    function_error: str | None = None
    """``"Unhandled"`` when the function failed; ``payload`` then holds {errorType, errorMessage, ...}."""
    executed_version: str = "$LATEST"
    request_id: str = ""
    """The invocation's request id (an Event invocation's: its queue entry's)."""
    status_code: int = 200
    """200 (RequestResponse), 202 (Event: queued), 204 (DryRun)."""
    error_type: str | None = None
    """The errorType of a function error (``Sandbox.Timedout``, ``Runtime.ExitError``, the handler's)."""
    duration_ms: float = 0.0
    init_duration_ms: float | None = None
    """Set on a cold start: the environment's INIT."""
    max_memory_mb: int = 0
    log_result: str = ""
    """The last 4 KB of the invocation's log, base64 (Lambda's X-Amz-Log-Result)."""


@dataclass(slots=True)
class ServiceCall:
    """One call of another service from a Task state (``statemachine.integrations``): an AWS SDK
    operation, an optimized integration or the HTTP Task. The host knows where each service is."""

    kind: str
    """``aws-sdk``, ``optimized`` or ``http``."""
    service: str
    """As the Task's Resource names it: ``dynamodb``, ``s3``, ``http``."""
    action: str
    """As the Resource names it, camelCase: ``getItem``, ``putObject``, ``invoke``."""
    parameters: str
    """The request (the state's Parameters or Arguments), as JSON text."""
    region: str
    """The execution's region."""
    execution_arn: str = ""
    state_machine_arn: str = ""
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    state_name: str = ""
    binary_body: bool = False
    """An S3 ``getObject`` whose object may not be text (a gzip inventory file for an ItemReader):
    the answer's ``Body`` comes as base64."""


@dataclass(slots=True)
class HistoryEvent:
    """One Step Functions history event: ``{id, previousEventId, timestamp, type, <type>EventDetails}``.

    Never changed once recorded. Not a frozen dataclass only because two are built for every state
    and a frozen one's ``__init__`` costs eight times as much.
    """

    id: int
    previous_event_id: int
    timestamp: datetime
    type: str
    details_key: str | None = None
    """e.g. ``stateEnteredEventDetails``; None for events without details."""
    details: dict[str, JSON] | None = None

    def to_json(self) -> dict[str, JSON]:
        """The event in Step Functions' JSON shape (timestamps as ISO-8601 text)."""
        out: dict[str, JSON] = {
            "id": self.id,
            "previousEventId": self.previous_event_id,
            "timestamp": self.timestamp.isoformat(),
            "type": self.type,
        }
        if self.details_key is not None:
            out[self.details_key] = self.details if self.details is not None else {}
        return out


class Host(Protocol):
    """Every effect the interpreter needs. Implementations must be deterministic where required
    (the Temporal host uses workflow.now(), workflow.uuid4(), workflow.random())."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def uuid4(self) -> str:
        """A fresh random UUID, as text."""
        ...

    def random(self) -> float:
        """A random float in [0, 1) (retry jitter, States.MathRandom)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait (a durable timer in the Temporal host)."""
        ...

    async def invoke_function(self, call: FunctionCall) -> FunctionResult:
        """Invoke a user function.

        A function's own failure comes back as a result with ``function_error`` set. Failures of
        the invocation itself raise ``StatesError``: ``States.Timeout`` (TimeoutSeconds passed),
        ``States.HeartbeatTimeout``, ``Lambda.ResourceNotFoundException``,
        ``Lambda.TooManyRequestsException``, ``Lambda.ServiceException``, ...
        """
        ...

    async def call_service(self, call: ServiceCall) -> str:
        """Call another service; returns the Task's result as JSON text.

        Failures raise ``StatesError``: the service's error (``DynamoDB.ConditionalCheckFailedException``,
        ``States.Http.StatusCode.404``), ``States.TaskFailed`` (no endpoint configured, unreachable),
        ``States.Timeout``.
        """
        ...

    def record(self, event: HistoryEvent) -> None:
        """Keep one history event (the interpreter assigns ids and previous ids)."""
        ...
