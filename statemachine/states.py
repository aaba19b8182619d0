"""Wait and Fail states, and JSONata Choice conditions: small pieces the interpreter dispatches to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from statemachine import dataflow, ir
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import QUERY_EVALUATION, EvaluationFault, TerminalError, runtime_fault
from statemachine.json_types import JSON
from statemachine.paths import PathNotFound
from statemachine.templates import resolve
from statemachine.timestamps import parse_timestamp

Terminal = TerminalError
"""Errors no Retry or Catch may handle."""


def condition(expression: Any, env: Any) -> bool:
    """A JSONata ``Condition``; anything but a boolean is an error, as in AWS."""
    value = dataflow.evaluate_jsonata(expression, env, "Condition")
    dataflow.expect_type(value, "boolean", expression, "Condition")
    return bool(value)


def fail_error(state: ir.Fail, raw: JSON, frame: Frame, ctx: StateContext) -> StatesError:
    """The error a Fail state ends its thread with."""
    error, cause = state.error, state.cause
    if state.query_language == "JSONata":
        if state.error_expr is not None or state.cause_expr is not None:
            env = dataflow.bindings(frame, ctx, raw)
            if state.error_expr is not None:
                error = _text(dataflow.evaluate_jsonata(state.error_expr, env, "Error"))
            if state.cause_expr is not None:
                cause = _text(dataflow.evaluate_jsonata(state.cause_expr, env, "Cause"))
        return FailError(error, cause)
    scope = dataflow.scope(frame, ctx, raw)
    if state.error_path is not None:
        error = _text(state.error_path.render(scope))
    if state.cause_path is not None:
        cause = _text(state.cause_path.render(scope))
    return FailError(error, cause)


class FailError(StatesError):
    """The error of a Fail state; ``Error`` may be absent (reported as no error name at all)."""

    def __init__(self, error: str | None, cause: str | None) -> None:
        super().__init__(error or "", cause)
        self.error = error


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else dataflow.dumps(value)


async def wait(
    state: ir.Wait, raw: JSON, frame: Frame, ctx: StateContext
) -> tuple[JSON, dict[str, JSON] | None]:
    """Sleep as the state says (through the host: a durable timer under Temporal)."""
    run = frame.run
    if state.query_language == "JSONata":
        env = dataflow.bindings(frame, ctx, raw)
        seconds = _seconds_from_jsonata(state, env, run.host.now())
        assigned = dataflow.assignments(state.assign, frame, ctx, raw, env)
        output = raw if state.output is None else dataflow.evaluate_jsonata(state.output, env, "Output")
    else:
        effective = dataflow.select(state.input_path, raw, frame, ctx)
        seconds = _seconds_from_jsonpath(state, effective, frame, ctx)
        assigned = dataflow.assignments(state.assign, frame, ctx, effective)
        output = dataflow.select(state.output_path, effective, frame, ctx)
    if seconds > run.limits.max_wait_seconds:
        raise runtime_fault("Wait state delay is too long.")
    if seconds > 0:
        await run.host.sleep(seconds)
    return output, dataflow.apply_assignments(frame, assigned)


def _seconds_from_jsonpath(state: ir.Wait, effective: JSON, frame: Frame, ctx: StateContext) -> float:
    now = frame.run.host.now()
    if state.seconds is not None:
        return float(state.seconds)
    if state.timestamp is not None:
        return _until(parse_timestamp(state.timestamp), now)
    scope = dataflow.scope(frame, ctx, effective)
    if state.seconds_path is not None:
        path = state.seconds_path
        value = _lookup(path, scope)
        if type(value) is not int:
            if type(value) is float and value.is_integer():
                value = int(value)
            else:
                raise runtime_fault(
                    "The SecondsPath parameter cannot be parsed as a long value: "
                    f"{path.text} == {_shown(value)}"
                )
        if value < 0:
            raise runtime_fault(
                f"The SecondsPath parameter references a negative value: {path.text} == {value}"
            )
        return float(value)
    if state.timestamp_path is not None:
        path = state.timestamp_path
        value = _lookup(path, scope)
        moment = parse_timestamp(value)
        if moment is None:
            raise runtime_fault(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                f"date-time format string: {path.text} == {_shown(value)}"
            )
        return _until(moment, now)
    return 0.0


def _shown(value: JSON) -> str:
    return value if isinstance(value, str) else dataflow.dumps(value)


def _lookup(path: Any, scope: Any) -> JSON:
    try:
        return resolve(path, scope)
    except PathNotFound:
        raise runtime_fault(f"Invalid path '{path.text}' : No results for path: {path.canonical()}") from None


def _until(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    return max(0.0, (moment - now).total_seconds())


def _seconds_from_jsonata(state: ir.Wait, env: Any, now: datetime) -> float:
    if state.seconds is not None:
        return float(state.seconds)
    if state.seconds_expr is not None:
        value = dataflow.evaluate_jsonata(state.seconds_expr, env, "Seconds")
        if type(value) is float and value.is_integer():
            value = int(value)
        if type(value) is not int or value < 0:
            raise EvaluationFault(
                QUERY_EVALUATION,
                f"The Seconds field must be a non-negative integer, but was: {dataflow.dumps(value)}",
                "Seconds",
            )
        return float(value)
    text: JSON = state.timestamp
    if state.timestamp_expr is not None:
        text = dataflow.evaluate_jsonata(state.timestamp_expr, env, "Timestamp")
    if text is None:
        return 0.0
    moment = parse_timestamp(text)
    if moment is None:
        raise EvaluationFault(
            QUERY_EVALUATION,
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format "
            f"string: {_shown(text)}",
            "Timestamp",
        )
    return _until(moment, now)
