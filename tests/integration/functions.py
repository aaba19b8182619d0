"""A few built-in functions for integration tests, behind the ``Invoker`` seam (tests only).

The real function runtime (``workers/functions``) replaces these in production.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from statemachine.errors import StatesError
from statemachine.host import FunctionCall, FunctionResult


def _name(function: str) -> str:
    """``arn:aws:lambda:...:function:echo:1`` or ``echo:1`` -> ``echo``."""
    if ":function:" in function:
        function = function.split(":function:", 1)[1]
    return function.split(":", 1)[0]


class TestInvoker:
    """echo, add, sleep, fail, fail_once (fails the first call with each payload), throttle; counts
    calls per function."""

    __test__ = False

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seen: set[bytes] = set()

    async def invoke_for_state_machine(self, call: FunctionCall) -> FunctionResult:
        name = _name(call.function)
        self.calls[name] = self.calls.get(name, 0) + 1
        event: Any = json.loads(call.payload)
        match name:
            case "echo":
                return _ok(event)
            case "add":
                return _ok(event["a"] + event["b"])
            case "sleep":
                await asyncio.sleep(float(event.get("seconds", 1)))
                return _ok(event)
            case "fail":
                error = {"errorType": event.get("errorType", "CustomError"), "errorMessage": "it failed"}
                return FunctionResult(json.dumps(error).encode(), function_error="Unhandled")
            case "fail_once" if call.payload not in self.seen:
                self.seen.add(call.payload)
                return FunctionResult(b'{"errorType": "FirstTime"}', function_error="Unhandled")
            case "fail_once":
                return _ok(event)
            case "throttle":
                raise StatesError("Lambda.TooManyRequestsException", "Rate exceeded")
            case _:
                raise StatesError("Lambda.ResourceNotFoundException", f"Function not found: {call.function}")


def _ok(value: Any) -> FunctionResult:
    return FunctionResult(json.dumps(value).encode())
