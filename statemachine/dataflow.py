"""Input and output processing (InputPath, ResultPath, OutputPath, Assign, JSONata bindings) as
pure functions of plain JSON values. Nothing here mutates a value it did not create."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from statemachine import ir, jsonata
from statemachine.context import Frame, StateContext
from statemachine.errors import StatesError
from statemachine.faults import (
    DATA_LIMIT,
    QUERY_EVALUATION,
    RUNTIME,
    EvaluationFault,
    TerminalError,
    runtime_fault,
)
from statemachine.json_types import JSON
from statemachine.json_types import type_name as jsonata_type
from statemachine.paths import Path, PathNotFound, set_path
from statemachine.templates import Scope, Template, resolve

_MISSING: Any = object()
_FIELD = re.compile(r"specified for the field '([^']*)'")


def scope(frame: Frame, ctx: StateContext, value: JSON) -> Scope:
    """The scope JSONPath fields of a state see, with ``$`` bound to ``value``."""
    return Scope(value, frame.variables, ctx, frame.run.effects)


def select(path: Path | None, value: JSON, frame: Frame, ctx: StateContext) -> JSON:
    """InputPath / OutputPath / ItemsPath: ``null`` gives ``{}``, ``$`` the value itself.

    Raises:
        EvaluationFault: States.Runtime when the path selects nothing.
    """
    if path is None:
        return {}
    if path.is_root:
        return value
    try:
        return resolve(path, scope(frame, ctx, value))
    except PathNotFound:
        raise runtime_fault(f"Invalid path '{path.text}' : No results for path: {path.canonical()}") from None


def render(template: Template, value: JSON, frame: Frame, ctx: StateContext) -> JSON:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector) applied to ``value``."""
    return template.render(scope(frame, ctx, value))


def merge_result(raw_input: JSON, result: JSON, path: Path | None) -> JSON:
    """ResultPath: where the result goes in the state's raw input (``null``: discard it).

    Raises:
        EvaluationFault: States.ResultPathMatchFailure when the path cannot be applied.
    """
    if path is None:
        return raw_input
    if path.is_root:
        return result
    try:
        return set_path(raw_input, path, result)
    except PathNotFound:
        raise EvaluationFault(
            "States.ResultPathMatchFailure",
            f"Unable to apply ReferencePath {path.text} to input {dumps(raw_input)}",
        ) from None


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: JSON) -> str:
    """Compact JSON, as AWS prints values in messages and history."""
    return _encode(value)


def json_size(value: JSON) -> int:
    """The bytes of ``value`` as compact UTF-8 JSON, as the payload limits count them (orjson; ``json``
    for the integers beyond 64 bits and the nesting past 255 levels that orjson refuses)."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return len(_encode(value).encode())


def check_size(value: JSON, limit: int, state_name: str) -> None:
    """Raise States.DataLimitExceeded when ``value`` serialises to more than ``limit`` bytes."""
    if isinstance(value, (dict, list, str)) and _too_big(value, limit, state_name):
        raise TerminalError(
            DATA_LIMIT,
            f"The state/task '{state_name}' returned a result with a size exceeding "
            "the maximum number of bytes service limit.",
        )


def check_input_size(value: JSON, limit: int) -> None:
    """Raise States.DataLimitExceeded when the execution input is over ``limit`` bytes."""
    if _too_big(value, limit, None):
        raise TerminalError(
            DATA_LIMIT, f"The execution input exceeds the maximum number of bytes service limit ({limit})."
        )


MAX_DATA_DEPTH = 512
"""How deep data may nest (arrays and objects): deeper, the state fails with States.Runtime. Every
value is serialised again and again (history events, Temporal payloads, the stored history), past
orjson's 255 levels by the slow ``json`` fallback: a loop nesting its own output one level a turn
made that cost grow with the square of its depth until a workflow task could not finish at all."""


def _too_big(value: JSON, limit: int, state_name: str | None) -> bool:
    """Whether ``value`` as compact UTF-8 JSON is over ``limit`` bytes (a string counts as its text).

    It runs for nearly every state's output, so it uses orjson (ten times faster than ``json`` for
    small values); integers beyond 64 bits, and values nested past orjson's 255 levels, fall back to
    ``json``: those nested past ``MAX_DATA_DEPTH`` are a terminal States.Runtime (its cause names the
    state, or the execution input when ``state_name`` is None)."""
    if isinstance(value, str):
        return len(value) > limit or (len(value) * 4 > limit and len(value.encode()) > limit)
    try:
        return len(orjson.dumps(value)) > limit
    except orjson.JSONEncodeError:
        if _nested_beyond(value, MAX_DATA_DEPTH):
            what = (
                "The execution input is" if state_name is None else f"The state/task '{state_name}' returned"
            )
            raise TerminalError(
                RUNTIME, f"{what} data nested more than {MAX_DATA_DEPTH} levels deep (the limit)"
            ) from None
        return len(_encode(value).encode()) > limit


def _nested_beyond(value: JSON, depth: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``depth`` levels (iterative)."""
    stack: list[tuple[JSON, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if level + 1 > depth:
                    return True
                stack.append((child, level + 1))
    return False


def bindings(
    frame: Frame,
    ctx: StateContext,
    raw_input: JSON,
    result: JSON = _MISSING,
    error_output: JSON = _MISSING,
) -> Any:
    """JSONata's ``$states`` and variables for one evaluation."""
    states: dict[str, JSON] = {"input": raw_input, "context": ctx()}
    if result is not _MISSING:
        states["result"] = result
    if error_output is not _MISSING:
        states["errorOutput"] = error_output
    run = frame.run
    return jsonata.Bindings(states, frame.variables, run.host.uuid4, run.host.random, run.host.now)


def evaluate_jsonata(template: Any, env: Any, location: str) -> JSON:
    """Render a compiled JSONata template; its errors become faults located at ``location``."""
    try:
        if isinstance(template, jsonata.CompiledExpression):
            return jsonata.evaluate(template, env, location)
        return jsonata.render(template, env, location)
    except EvaluationFault:
        raise
    except StatesError as exc:
        cause = exc.cause or ""
        match = _FIELD.search(cause)
        raise EvaluationFault(exc.name, cause, match.group(1) if match else location) from None


def expect_type(value: JSON, expected: str, compiled: Any, field: str) -> None:
    """Fail with AWS's message when a JSONata field yields the wrong JSON type (Items, Condition)."""
    if isinstance(compiled, jsonata.CompiledExpression):
        try:
            jsonata.check_result_type(value, expected, compiled, field)
        except StatesError as exc:
            raise EvaluationFault(exc.name, exc.cause or "", field) from None
    elif jsonata_type(value) != expected:
        raise EvaluationFault(
            QUERY_EVALUATION,
            f"The field '{field}' returned an unexpected result type. Expected '{expected}', "
            f"but was '{jsonata_type(value)}' for value: {dumps(value)}",
            field,
        )


def assignments(
    assign: ir.Assign | None,
    frame: Frame,
    ctx: StateContext,
    value: JSON,
    env: Any = None,
) -> dict[str, JSON] | None:
    """The variables ``Assign`` sets (evaluated now, applied by ``apply_assignments`` later)."""
    if assign is None:
        return None
    if assign.jsonpath is not None:
        out = assign.jsonpath.render(scope(frame, ctx, value))
    else:
        out = evaluate_jsonata(assign.jsonata, env, "Assign")
    if not isinstance(out, dict):
        raise EvaluationFault(QUERY_EVALUATION, "Assign must evaluate to an object", "Assign")
    return out


def apply_assignments(frame: Frame, assigned: Mapping[str, JSON] | None) -> dict[str, JSON] | None:
    """Set variables in the innermost scope; returns the ``assignedVariables`` history detail."""
    if assigned is None:
        return None
    frame.variables.maps[0].update(assigned)
    return {name: dumps(value) for name, value in assigned.items()}


def finish_with_result(
    state: ir.Task | ir.Parallel | ir.Map, raw: JSON, result: JSON, frame: Frame, ctx: StateContext
) -> tuple[JSON, dict[str, JSON] | None]:
    """A state's output and variables from its result: Output/Assign in JSONata; ResultSelector,
    Assign, ResultPath and OutputPath in JSONPath (the steps Task, Parallel and Map share)."""
    if state.query_language == "JSONata":
        env = bindings(frame, ctx, raw, result=result)
        assigned = assignments(state.assign, frame, ctx, raw, env)
        output = result if state.output is None else evaluate_jsonata(state.output, env, "Output")
        return output, apply_assignments(frame, assigned)
    if state.result_selector is not None:
        result = render(state.result_selector, result, frame, ctx)
    assigned = assignments(state.assign, frame, ctx, result)
    output = merge_result(raw, result, state.result_path)
    output = select(state.output_path, output, frame, ctx)
    return output, apply_assignments(frame, assigned)
