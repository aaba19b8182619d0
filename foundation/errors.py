"""Stepline's exceptions: one tree, drawn here whole.

Every error Stepline raises on purpose derives from ``SteplineError``. The root sits in
``statemachine.errors`` because the language is the bottom layer (``InvalidValue`` too: the language
raises it); the branches the layers above raise live here, each meaning one thing to a caller. The
front doors translate by branch: ``api.errors`` to problem+json (the status column), ``api.aws.errors``
with ``api.aws.sfn_errors`` and ``api.aws.lambda_call`` to AWS's error codes (a few leaves get AWS's
own words first).

    Exception
    └── SteplineError                  the root (statemachine.errors)
        ├── DefinitionError            a definition that cannot run; every Diagnostic            400
        ├── StatesError                a run-time ASL error (name, cause) for Retry and Catch: it
        │                              ends an execution, never a request (statemachine; its kinds:
        │                              FailError, EvaluationFault, TerminalError, ...)
        ├── InvalidRequest             a request that cannot be acted on; ``problems`` say where 400
        │   └── LimitExceeded          beyond one of AWS's (and Stepline's) limits               400
        │       ├── PayloadTooLarge    an input over its size limit                              413
        │       ├── TagLimitExceeded   a tag too long, or TooManyTags (registry.tags)
        │       └── ProvisionedOverBudget  more environments than the budget leaves (registry.functions)
        ├── NotFound (LookupError)     no such thing                                             404
        │   └── StateMachineNotFound, ExecutionNotFound, FunctionNotFound, ResourceNotFound,
        │       StatementNotFound, AccessKeyNotFound                               (registry.*)
        ├── Conflict                   the request contradicts what exists                       409
        │   └── StateMachineExists, FunctionExists, ResourceExists, StatementExists,
        │       NotLatest (a version published under a stale revision)             (registry.*)
        ├── Unavailable                a backing service (Temporal, PostgreSQL) did not answer   503
        ├── InvalidValue (ValueError)  a value that cannot be used; the caller names the field it
        │   │                          came from (as an InvalidRequest, or a failed invocation)
        │   ├── ArnError               an ARN or function reference (statemachine.arns)
        │   ├── InvalidSessionToken    not a Stepline session token (foundation.session_credentials)
        │   ├── FileSystemError        a file system path or access point (workers.filesystems)
        │   ├── AttachmentError        file systems or db proxies a function asks for (workers.attachments)
        │   └── InvalidCode            a function's code as given (workers.functions.codestore)
        ├── InvokeError                an invocation that could not run; ``code`` and ``status``
        │                              are Lambda's: ResourceNotFoundError 404, InvalidParameterError
        │                              400, RequestTooLargeError 413, TooManyRequestsError 429,
        │                              ServiceError 500 (workers.functions.errors; its NoLiveWorker
        │                              503: api.runtime.remote)
        ├── AwsError                   an error in AWS's words: ``code``, ``status`` (api.aws.errors)
        │   └── SignatureError         a missing, malformed or wrong SigV4 signature (api.aws.sigv4)
        ├── StartRefused (RuntimeError)  a process that will not start; the message says the fix
        │   ├── UnsafeStart            UnsafeBind, MissingSandbox (foundation.preflight)
        │   ├── DatabaseNotMigrated    (foundation.db)
        │   └── DevBusy                another ``stepline dev`` holds the data dir (shell.devstate)
        ├── CaseFormatError            a conformance case that cannot be read (shell.conformance.cases)
        └── RemoteError                a Stepline under test answered otherwise (shell.conformance.remote)

Outside the tree, on purpose: exceptions that never leave their package, each turned into one of
the above where it leaves (the pool's ``EnvironmentDead``, the language's parser errors that become
Diagnostics, the worker endpoint's ``WireError``, the remote runtime's ``Unreachable``, the AWS API
forwarder's ``Refused``); code that runs on the standard library alone (the bootstraps inside the
sandbox; ``unpack.py``'s ``InvalidPackage``, which ``InvalidCode`` carries on); the DB proxy's
errors (PostgreSQL's ErrorResponses, drawn in ``workers/dbproxy/__init__.py``) and
``foundation.sealing``'s ``SealError``, because ``python -m workers.dbproxy`` runs without the
language (importing this tree would take its start from 0.12 s to 0.48 s); and HTTP-level refusals,
which are Starlette ``HTTPException``s (``api.request_limits``).
"""

from __future__ import annotations

from typing import Any

from statemachine import InvalidValue, SteplineError

__all__ = [
    "Conflict",
    "InvalidRequest",
    "InvalidValue",
    "LimitExceeded",
    "NotFound",
    "PayloadTooLarge",
    "StartRefused",
    "SteplineError",
    "Unavailable",
]


class InvalidRequest(SteplineError):
    """A request that cannot be acted on (HTTP 400); ``problems`` say what and where."""

    def __init__(self, detail: str, problems: list[dict[str, Any]] | None = None) -> None:
        self.detail = detail
        self.problems = problems or []
        super().__init__(detail)


class LimitExceeded(InvalidRequest):
    """A request beyond one of the limits AWS documents (and Stepline keeps)."""


class PayloadTooLarge(LimitExceeded):
    """An input over its size limit (HTTP 413)."""

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size} bytes; the limit is {limit} bytes")


class NotFound(SteplineError, LookupError):
    """No such thing (HTTP 404)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Conflict(SteplineError):
    """The request contradicts what exists (HTTP 409), e.g. an execution name reused with other input."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Unavailable(SteplineError):
    """A backing service (Temporal, PostgreSQL) did not answer (HTTP 503)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class StartRefused(SteplineError, RuntimeError):
    """A process that will not start (unsafe settings, an unmigrated database, a busy data
    directory); the message says the fix."""
