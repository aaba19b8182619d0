"""The Lambda contract per runtime: handler forms, context, lifecycle and errors as Lambda names them."""

from __future__ import annotations

import json

import pytest

from tests.integration.function_kit import body, call, deploy, fn_settings, requires_bwrap, service, unique
from workers.functions.errors import RequestTooLargeError
from workers.functions.service import FunctionService

__all__ = ["fn_settings", "service"]
pytestmark = [requires_bwrap]

PYTHON = """
import os, sys
loaded = 0
loaded += 1
def context(event, context):
    return {
        "aws_request_id": context.aws_request_id, "function_name": context.function_name,
        "function_version": context.function_version, "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb, "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name, "remaining": context.get_remaining_time_in_millis(),
        "loaded": loaded, "cwd": os.getcwd(), "user_var": os.environ.get("GREETING"),
    }
def fail(event, context):
    raise KeyError("missing")
def unserialisable(event, context):
    return {1, 2}
def exits(event, context):
    sys.exit(3)
def huge(event, context):
    return "x" * (7 * 1024 * 1024)
def raw(event, context):
    return b'"HelloWorld!"'
def talk(event, context):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return None
"""


async def test_python_context_fields_and_init_once(service: FunctionService) -> None:
    name = await deploy(service, unique("ctx"), {"app.py": PYTHON}, handler="app.context",
                        memory_size=256, timeout=5, environment={"GREETING": "hi"})  # fmt: skip
    first = await call(service, name, {})
    second = await call(service, name, {})
    found = body(second)
    assert found["aws_request_id"] == second.request_id != first.request_id
    assert found["function_name"] == name and found["function_version"] == "$LATEST"
    assert found["invoked_function_arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert found["memory_limit_in_mb"] == "256"
    assert found["log_group_name"] == f"/aws/lambda/{name}"
    assert 4000 < found["remaining"] <= 5000
    assert found["loaded"] == 1 and found["cwd"] == "/var/task" and found["user_var"] == "hi"
    assert first.init_duration_ms is not None and second.init_duration_ms is None


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("app.fail", "KeyError", "'missing'"),
        ("app.unserialisable", "Runtime.MarshalError", "Unable to marshal response: Object of type set"),
        ("app.exits", "Runtime.ExitError", "Error: Runtime exited with error: exit status 3"),
        ("app.huge", "Function.ResponseSizeTooLarge", "exceeded maximum allowed payload size (6291456"),
        ("nomodule.handler", "Runtime.ImportModuleError", "No module named 'nomodule'"),
        ("app.absent", "Runtime.HandlerNotFound", "Handler 'absent' missing on module 'app'"),
        ("broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken'"),
    ],
    ids=["exception", "marshal", "exit", "response-too-large", "import", "handler-not-found", "syntax"],
)  # fmt: skip
async def test_python_errors_are_named_as_lambda_names_them(
    service: FunctionService, handler: str, error_type: str, message: str
) -> None:
    files = {"app.py": PYTHON, "broken.py": "def handler(:\n"}
    name = await deploy(service, unique("err"), files, handler=handler)
    result = await call(service, name, {})
    assert result.function_error == "Unhandled"
    doc = body(result)
    assert doc["errorType"] == error_type
    assert message in doc["errorMessage"]
    if error_type == "KeyError":
        assert doc["stackTrace"] and "app.py" in doc["stackTrace"][0]


async def test_bytes_results_are_sent_as_they_are(service: FunctionService) -> None:
    name = await deploy(service, unique("raw"), {"app.py": PYTHON}, handler="app.raw")
    result = await call(service, name, {})
    assert result.function_error is None and result.payload == b'"HelloWorld!"'


async def test_request_over_6_mb_is_refused(service: FunctionService) -> None:
    name = await deploy(service, unique("big"), {"app.py": PYTHON}, handler="app.context")
    with pytest.raises(RequestTooLargeError):
        await service.invoke(name, json.dumps("x" * (6 * 1024 * 1024)).encode())


async def test_stdout_and_stderr_are_logged_between_start_and_end(service: FunctionService) -> None:
    name = await deploy(service, unique("talk"), {"app.py": PYTHON}, handler="app.talk")
    result = await call(service, name, {})
    await service.logs.flush()
    from foundation.registry.functions import read_logs

    async with service.sessions() as session:
        rows = await read_logs(session, name, request_id=result.request_id, since=None, limit=100)
    lines = [r.message for r in rows]
    assert lines[0] == f"START RequestId: {result.request_id} Version: $LATEST"
    assert set(lines[1:3]) == {"to stdout", "to stderr"}
    assert lines[3] == f"END RequestId: {result.request_id}"
    assert lines[4].startswith("REPORT") and "Init Duration:" in lines[4]


NODE = """
let calls = 0;
exports.asyncHandler = async (event, context) => {
  calls += 1;
  console.log("seen", event.n);
  const left = context.getRemainingTimeInMillis() > 0;
  return { calls, name: context.functionName, id: context.awsRequestId, left };
};
exports.callback = (event, context, callback) => { setTimeout(() => callback(null, event.n * 2), 5); };
exports.sync = (event) => event.n + 1;
exports.fails = async () => { throw new TypeError("bad input"); };
"""


@pytest.mark.parametrize(
    ("handler", "expected"),
    [("index.callback", 42), ("index.sync", 22)],
    ids=["callback", "sync"],
)
async def test_node_handler_forms(service: FunctionService, handler: str, expected: int) -> None:
    name = await deploy(service, unique("node"), {"index.js": NODE}, handler=handler, runtime="nodejs20")
    assert body(await call(service, name, {"n": 21})) == expected


async def test_node_async_handler_keeps_globals_and_gets_context(service: FunctionService) -> None:
    name = await deploy(service, unique("node"), {"index.js": NODE}, handler="index.asyncHandler",
                        runtime="nodejs20")  # fmt: skip
    await call(service, name, {"n": 1})
    second = await call(service, name, {"n": 2})
    assert body(second) == {"calls": 2, "name": name, "id": second.request_id, "left": True}


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [("index.fails", "TypeError"), ("index.absent", "Runtime.HandlerNotFound"),
     ("missing.handler", "Runtime.ImportModuleError")],
    ids=["exception", "handler-not-found", "import"],
)  # fmt: skip
async def test_node_errors(service: FunctionService, handler: str, error_type: str) -> None:
    name = await deploy(service, unique("node"), {"index.js": NODE}, handler=handler, runtime="nodejs20")
    result = await call(service, name, {"n": 1})
    assert result.function_error == "Unhandled"
    assert body(result)["errorType"] == error_type


BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -D "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  curl -sS "$API/invocation/$ID/response" -d "{\\"echo\\": $EVENT, \\"handler\\": \\"$_HANDLER\\"}" >/dev/null
done
"""


async def test_provided_runtime_runs_the_packages_bootstrap(service: FunctionService) -> None:
    name = await deploy(service, unique("custom"), {"bootstrap": BOOTSTRAP}, handler="function.handler",
                        runtime="provided")  # fmt: skip
    for n in range(2):
        assert body(await call(service, name, {"n": n})) == {"echo": {"n": n}, "handler": "function.handler"}
