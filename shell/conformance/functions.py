"""The functions a case needs, as real Lambda-style Python handlers, behind an in-process invoker.

The invoker implements the same contract Task states use (``FunctionCall`` -> ``FunctionResult``,
see ``statemachine.host``): a name or ARN resolves to a handler, the payload is JSON text, a raised
exception becomes the Lambda Python runtime's error document with ``function_error="Unhandled"``,
an unknown name raises ``Lambda.ResourceNotFoundException`` and TimeoutSeconds raises
``States.Timeout``. Handlers run in a thread, off the event loop, like blocking user code.
"""

from __future__ import annotations

import asyncio
import builtins as builtins_module
import json
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from statemachine import JSON, FunctionCall, FunctionResult, StatesError, function_arn, function_reference

RECORDED_ACCOUNT = "111111111111"
"""The account id the recorder wrote in place of AWS's in every string it stored (corpus README):
the ARNs the functions see, and those of local runs, carry it so that they compare as recorded."""
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


HANDLER_FILE = "/var/task/handler.py"
"""Where Lambda loads a Python handler from; tracebacks name it, as AWS's error documents do."""

SOURCES: Mapping[str, str] = {
    "identity": "def handler(event, context):\n    return event\n",
    "constant": 'def handler(event, context):\n    return {"Return": "HelloWorld"}\n',
    "constant_bytes": "def handler(event, context):\n    return b'\"HelloWorld!\"'\n",
    "format": 'def handler(event, context):\n    return "input-event-" + str(event)\n',
    "raise": 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n',
    "raise_custom": (
        "class CustomException(Exception):\n"
        "    message: str\n"
        "\n"
        "    def __init__(self):\n"
        '        self.message = "Some custom exception was raised."\n'
        "\n"
        "\n"
        "def handler(event, context):\n"
        "    raise CustomException()\n"
    ),
    "large_output": 'def handler(event, context):\n    return b"a" * (257 * 1024)\n',
    "sleep_then_identity": (
        "import time\n\n\ndef handler(event, context):\n    time.sleep(60)\n    return event\n"
    ),
}
"""The handlers the corpus describes, as the Python source a function would ship."""

Handler = Callable[[JSON, LambdaContext], JSON]


@dataclass(frozen=True, slots=True)
class Function:
    """A loaded handler and the source lines its tracebacks quote."""

    handler: Handler
    lines: tuple[str, ...]


class _SandboxTime:
    """The ``time`` module a handler sees: ``sleep`` returns early once its invocation is abandoned,
    so no worker thread outlives the case that started it (Lambda would kill the sandbox)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        abandoned = getattr(_invocation, "abandoned", None)
        if abandoned is None:
            time.sleep(seconds)
        else:
            abandoned.wait(seconds)


_invocation = threading.local()
_SANDBOX_TIME = _SandboxTime()


@lru_cache(maxsize=64)
def load_function(source: str) -> Function:
    """Compile handler source as Lambda would load ``handler.handler`` from /var/task.

    The module's ``import time`` yields the sandbox clock, whose sleep an abandoned invocation ends.
    """
    builtins = dict(vars(builtins_module))
    real_import = builtins_module.__import__

    def sandbox_import(name: str, *args: Any, **kwargs: Any) -> Any:
        return _SANDBOX_TIME if name == "time" else real_import(name, *args, **kwargs)

    builtins["__import__"] = sandbox_import
    namespace: dict[str, Any] = {"__name__": "handler", "__builtins__": builtins}
    exec(compile(source, HANDLER_FILE, "exec"), namespace)
    return Function(namespace["handler"], tuple(source.splitlines()))


def source_for(behaviour_kind: str, behaviour: str = "") -> str:
    """The handler source for a case's described behaviour; KeyError names an unknown kind."""
    key = "raise_custom" if behaviour_kind == "raise" and "CustomException" in behaviour else behaviour_kind
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown function behaviour_kind {behaviour_kind!r}") from None


def function_name(reference: str) -> tuple[str, str | None]:
    """(name, qualifier) from a name, ``name:qualifier``, a partial ARN or a full Lambda ARN (as Lambda
    reads them); any other text is a name as it stands."""
    return function_reference(reference) or (reference, None)


def error_document(exc: BaseException, request_id: str, lines: tuple[str, ...]) -> dict[str, JSON]:
    """The Lambda Python runtime's error payload: only the handler's own frames in the trace."""
    trace: list[JSON] = [
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n'
        f"    {lines[frame.lineno - 1].strip() if frame.lineno and frame.lineno <= len(lines) else ''}\n"
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename == HANDLER_FILE
    ]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": trace,
    }


Invoker = Callable[[FunctionCall], Awaitable[FunctionResult]]


class InProcessInvoker:
    """Calls Python handlers by function name, with Lambda's invocation semantics."""

    def __init__(self, functions: Mapping[str, Function]) -> None:
        self._functions = dict(functions)

    @classmethod
    def from_behaviours(cls, functions: Iterable[tuple[str, str, str]]) -> InProcessInvoker:
        """From (name, behaviour_kind, behaviour description) triples."""
        return cls({name: load_function(source_for(kind, text)) for name, kind, text in functions})

    async def __call__(self, call: FunctionCall) -> FunctionResult:
        name, qualifier = function_name(call.function)
        request_id = str(uuid.uuid4())
        function = self._functions.get(name)
        if function is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function_arn(name, qualifier or '$LATEST', account=RECORDED_ACCOUNT)} "
                "(Service: AWSLambda; "
                f"Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {request_id}; "
                "Proxy: null)",
            )
        try:
            event = json.loads(call.payload) if call.payload.strip() else {}  # Lambda's default event
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StatesError(
                "Lambda.InvalidRequestContentException", f"Could not parse request body: {exc}"
            ) from None
        timeout = call.timeout_seconds
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=function_arn(name, qualifier, account=RECORDED_ACCOUNT),
            aws_request_id=request_id,
            deadline=time.monotonic() + (timeout if timeout is not None else 900.0),
        )
        work = asyncio.get_running_loop().run_in_executor(None, _run_handler, function, event, context)
        try:
            payload, failed = await asyncio.wait_for(work, timeout)
        except TimeoutError:
            raise StatesError("States.Timeout") from None
        finally:
            context.abandoned.set()
        return FunctionResult(
            payload=payload, function_error="Unhandled" if failed else None, request_id=request_id
        )


def _run_handler(function: Function, event: JSON, context: LambdaContext) -> tuple[bytes, bool]:
    """Run one handler in a worker thread: (response bytes, whether the function failed)."""
    _invocation.abandoned = context.abandoned
    try:
        result = function.handler(event, context)
    except Exception as exc:
        return json.dumps(error_document(exc, context.aws_request_id, function.lines)).encode(), True
    finally:
        _invocation.abandoned = None
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
