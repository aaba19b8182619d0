"""The functions a case needs, as real Lambda-style Python handlers, behind an in-process invoker.

The invoker implements the same contract Task states use (``FunctionCall`` -> ``FunctionResult``,
see ``statemachine.host``): a name or ARN resolves to a handler, the payload is JSON text, a raised
exception becomes the Lambda Python runtime's error document with ``function_error="Unhandled"``,
an unknown name raises ``Lambda.ResourceNotFoundException`` and TimeoutSeconds raises
``States.Timeout``. Handlers run in a thread, off the event loop, like blocking user code.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from statemachine.errors import StatesError
from statemachine.host import FunctionCall, FunctionResult

JSON = Any
REGION = "us-east-1"
ACCOUNT = "111111111111"
LARGE_OUTPUT_BYTES = 257 * 1024


@dataclass(slots=True)
class LambdaContext:
    """The fields of the Lambda Python runtime's context object that handlers use."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    """time.monotonic() after which the invocation is abandoned."""
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_group_name: str = ""
    log_stream_name: str = ""
    abandoned: threading.Event = field(default_factory=threading.Event)
    """Set when the caller stops waiting (timeout): what killing the sandbox does in Lambda."""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that ends early when the invocation is abandoned (no thread outlives a case)."""
        self.abandoned.wait(seconds)


Handler = Callable[[JSON, LambdaContext], JSON]


class CustomException(Exception):
    """A user-defined exception whose str() is empty: its message is only an attribute."""

    def __init__(self, message: str = "Some custom exception was raised.") -> None:
        super().__init__()
        self.message = message


def identity(event: JSON, context: LambdaContext) -> JSON:
    return event


def constant(event: JSON, context: LambdaContext) -> JSON:
    return {"Return": "HelloWorld"}


def constant_bytes(event: JSON, context: LambdaContext) -> JSON:
    return b'"HelloWorld!"'


def format_event(event: JSON, context: LambdaContext) -> JSON:
    return "input-event-" + str(event)


def raise_exception(event: JSON, context: LambdaContext) -> JSON:
    raise Exception("Some exception was raised.")


def raise_custom_exception(event: JSON, context: LambdaContext) -> JSON:
    raise CustomException()


def large_output(event: JSON, context: LambdaContext) -> JSON:
    return b"a" * LARGE_OUTPUT_BYTES


def sleep_then_identity(event: JSON, context: LambdaContext) -> JSON:
    context.sleep(60)
    return event


BEHAVIOURS: Mapping[str, Handler] = {
    "identity": identity,
    "constant": constant,
    "constant_bytes": constant_bytes,
    "format": format_event,
    "raise": raise_exception,
    "large_output": large_output,
    "sleep_then_identity": sleep_then_identity,
}


def handler_for(behaviour_kind: str, behaviour: str = "") -> Handler:
    """The handler for a case's described behaviour; KeyError names an unknown kind."""
    if behaviour_kind == "raise" and "CustomException" in behaviour:
        return raise_custom_exception
    try:
        return BEHAVIOURS[behaviour_kind]
    except KeyError:
        raise KeyError(f"unknown function behaviour_kind {behaviour_kind!r}") from None


def function_name(reference: str) -> tuple[str, str | None]:
    """(name, qualifier) from a name, ``name:qualifier``, a partial ARN or a full Lambda ARN."""
    parts = reference.split(":")
    rest = parts[parts.index("function") + 1 :] if "function" in parts else parts
    name = rest[0] if rest else ""
    qualifier = rest[1] if len(rest) > 1 and rest[1] else None
    return name, qualifier


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def error_document(exc: BaseException, request_id: str) -> dict[str, JSON]:
    """The Lambda Python runtime's error payload for an exception raised by a handler."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop the invoker's own frame
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


Invoker = Callable[[FunctionCall], Awaitable[FunctionResult]]


class InProcessInvoker:
    """Calls Python handlers by function name, with Lambda's invocation semantics."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)

    @classmethod
    def from_behaviours(cls, functions: Iterable[tuple[str, str, str]]) -> InProcessInvoker:
        """From (name, behaviour_kind, behaviour description) triples."""
        return cls({name: handler_for(kind, text) for name, kind, text in functions})

    async def __call__(self, call: FunctionCall) -> FunctionResult:
        name, qualifier = function_name(call.function)
        request_id = str(uuid.uuid4())
        handler = self._handlers.get(name)
        if handler is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function_arn(name, qualifier or '$LATEST')} (Service: AWSLambda; "
                f"Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; "
                "Proxy: null)",
            )
        try:
            event = json.loads(call.payload) if call.payload.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StatesError(
                "Lambda.InvalidRequestContentException", f"Could not parse request body: {exc}"
            ) from None
        timeout = call.timeout_seconds
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=function_arn(name, qualifier),
            aws_request_id=request_id,
            deadline=time.monotonic() + (timeout if timeout is not None else 900.0),
        )
        work = asyncio.get_running_loop().run_in_executor(None, _run_handler, handler, event, context)
        try:
            payload, failed = await asyncio.wait_for(work, timeout)
        except TimeoutError:
            raise StatesError("States.Timeout") from None
        finally:
            context.abandoned.set()
        return FunctionResult(
            payload=payload, function_error="Unhandled" if failed else None, request_id=request_id
        )


def _run_handler(handler: Handler, event: JSON, context: LambdaContext) -> tuple[bytes, bool]:
    """Run one handler in a worker thread: (response bytes, whether the function failed)."""
    try:
        result = handler(event, context)
    except Exception as exc:
        return json.dumps(error_document(exc, context.aws_request_id)).encode(), True
    if isinstance(result, (bytes, bytearray)):
        return bytes(result), False
    try:
        return json.dumps(result).encode(), False
    except (TypeError, ValueError) as exc:
        document = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": context.aws_request_id,
            "stackTrace": [],
        }
        return json.dumps(document).encode(), True
