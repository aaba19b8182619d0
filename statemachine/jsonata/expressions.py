"""JSONata, the second query language of ASL: ``{% ... %}`` expressions and the templates holding them.

    expr = compile_expression("$states.input.n + 1")        # cached by text; JsonataSyntaxError
    evaluate(expr, bindings, field="Output")                 # -> plain JSON, never shared
    render(compile_template({"a": "{% $x %}"}, "Output"), bindings)

Evaluation binds ``$states`` (input, result, errorOutput, context: include only the keys that
exist for the state) and every workflow variable as ``$name``, plus Step Functions' functions
($partition, $range, $hash, $random, $uuid, $parse). $now/$millis read ``Bindings.now`` and
$shuffle the host's random source, so replays are deterministic; $eval is refused as on AWS.
Nothing is copied per evaluation: variables are looked up in the caller's mapping, and the
registered functions read the evaluation's effects from a context variable. Simple paths and
path/literal comparisons (most Choice conditions) are answered without the engine when the answer
is unambiguous (``fast``); otherwise the engine decides. A runaway expression
stops after MAX_STEPS evaluation steps (counted, not timed; see ``engine``). In a Temporal
workflow the ``jsonata`` package must be passed through the sandbox as well as ``statemachine``
(it imports itself lazily and reads ``time.time`` when compiling).

Errors are ``StatesError("States.QueryEvaluationError", cause)``. The cause is AWS's text from the
expression on: ``The JSONata expression '$x' specified for the field 'Output' returned nothing
(undefined).`` An expression that yields *undefined* is always such an error (AWS fails the state
in every field: Arguments, Output, Assign, Items, nested template values). The interpreter puts
AWS's state prefix in front: ``An error occurred while executing the state 'S' (entered at the
event id #2). `` (``statemachine.faults.with_state``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final, TypeGuard

from jsonata.jexception import JException
from jsonata.jsonata import Jsonata

from statemachine.errors import StatesError
from statemachine.intrinsics import json_type
from statemachine.json_types import JSON
from statemachine.jsonata import fast, functions
from statemachine.jsonata.engine import (
    ENGINE_FAULTS,
    MAX_STEPS,
    QUERY_EVALUATION_ERROR,
    CompiledExpression,
    Data,
    copy_json,
    error,
    join,
    message,
    run,
)

__all__ = [
    "MAX_STEPS",
    "QUERY_EVALUATION_ERROR",
    "Bindings",
    "CompiledExpression",
    "JsonataSyntaxError",
    "Template",
    "check_result_type",
    "compile_expression",
    "compile_template",
    "evaluate",
    "is_expression",
    "render",
]

_SIMPLE_PATH: Final = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_KEYWORDS: Final = frozenset({"and", "or", "in", "true", "false", "null", "function"})


class JsonataSyntaxError(ValueError):
    """An expression that does not compile; names the expression, the problem and its position."""

    def __init__(self, expression: str, problem: str, position: int | None = None, subpath: str = "") -> None:
        self.expression = expression
        self.problem = problem
        self.position = position
        self.subpath = subpath
        """Where a template held the expression, below its field: ``Payload/x`` (``""``: the top)."""
        where = f" at position {position}" if position is not None else ""
        inside = f" (at {subpath})" if subpath else ""
        super().__init__(f"invalid JSONata expression {expression!r}{inside}{where}: {problem}")


@dataclass(frozen=True)
class Bindings:
    """What an expression can see: ``$states``, the variables in scope, and the effects."""

    states: Mapping[str, JSON]
    """``$states``: input, result, errorOutput, context (only those that exist for the state)."""
    variables: Mapping[str, JSON]
    """Workflow variables by name (without the ``$``)."""
    uuid4: Callable[[], str]
    random: Callable[[], float]
    now: Callable[[], datetime] | None = None
    """The host's clock for $now/$millis; without one they fail (no wall-clock reads here)."""


def is_expression(value: object) -> TypeGuard[str]:
    """Whether a definition value is a JSONata expression: a string in ``{% ... %}``."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CompiledExpression:
    """Compile the text between the delimiters (the delimiters themselves are also accepted)."""
    inner = (text[2:-2] if is_expression(text) else text).strip()
    if not inner:
        raise JsonataSyntaxError(inner, "the expression is empty")
    try:
        program = Jsonata(inner)
    except JException as err:
        raise JsonataSyntaxError(inner, message(err), err.location) from None
    except (RecursionError, *ENGINE_FAULTS) as err:
        raise JsonataSyntaxError(inner, str(err) or type(err).__name__) from None
    if program.errors:
        raise JsonataSyntaxError(inner, "; ".join(str(error) for error in program.errors))
    program.set_validate_input(False)
    simple = _SIMPLE_PATH.fullmatch(inner)
    steps = tuple(simple.group().lstrip("$").split(".")) if simple else ()
    if steps and _KEYWORDS.isdisjoint(steps):
        return CompiledExpression(inner, program, steps)
    return CompiledExpression(inner, program, condition=fast.compile_condition(inner))


def evaluate(expr: CompiledExpression, bindings: Bindings, field: str = "") -> JSON:
    """Evaluate to a fresh plain JSON value; ``field`` names the ASL field in error causes."""
    token = functions.CURRENT.set(_effects(bindings))
    try:
        return run(expr, Data(bindings.states, bindings.variables), field, "")
    finally:
        functions.CURRENT.reset(token)


def check_result_type(
    value: JSON, expected: str, source: CompiledExpression | Template, field: str | None = None
) -> None:
    """Fail as AWS does when a field's value has the wrong JSON type (Map ``Items``: array,
    Choice ``Condition``: boolean), quoting the expression that produced it.

    ``expected`` is a JSON type name: array, object, string, number, boolean or null. ``field``
    defaults to the template's own field.
    """
    actual = json_type(value)
    if actual == expected:
        return
    detail = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    problem = (
        f"returned an unexpected result type. Expected '{expected}', but was '{actual}' for value: {detail}"
    )
    if isinstance(source, CompiledExpression):
        raise error(source, field or "", problem)
    name = source.field if field is None else field
    root = source.root
    if isinstance(root, _Expression):
        raise error(root.expr, join(name, root.subpath), problem)
    raise StatesError(
        QUERY_EVALUATION_ERROR, f"The JSONata expression specified for the field '{name}' {problem}"
    )


def _effects(bindings: Bindings) -> functions.Effects:
    return functions.Effects(bindings.uuid4, bindings.random, bindings.now)


# ----------------------------------------------------------------------------------------------
# Templates: JSON values whose strings may be expressions, compiled once, rendered per state.


@dataclass(frozen=True, slots=True)
class _Literal:
    value: JSON


@dataclass(frozen=True, slots=True)
class _Expression:
    expr: CompiledExpression
    subpath: str
    """Where the expression sits below the template's field: ``""``, ``result``, ``Payload/x``."""


@dataclass(frozen=True, slots=True)
class _Object:
    items: tuple[tuple[str, _Node], ...]


@dataclass(frozen=True, slots=True)
class _Array:
    items: tuple[_Node, ...]


_Node = _Literal | _Expression | _Object | _Array


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template; literal subtrees are kept whole and copied when rendered."""

    root: _Node
    field: str
    """The ASL field the template fills (``Output``, ``Arguments``, ...), for error causes."""


def compile_template(template: JSON, field: str = "") -> Template:
    """Compile every ``{% %}`` string in a JSON value; ``field`` (e.g. ``Output``) names its place
    in error causes, extended by the keys below it (``Arguments/Payload/x``)."""
    return Template(_compile_node(template, ""), field)


def render(template: Template, bindings: Bindings, field: str | None = None) -> JSON:
    """The template's value with each expression evaluated: a fresh JSON value every call.

    ``field`` overrides the field name given at compile time (for error causes).
    """
    root = template.root
    if isinstance(root, _Literal):
        return copy_json(root.value)
    token = functions.CURRENT.set(_effects(bindings))
    try:
        name = template.field if field is None else field
        return _render(root, Data(bindings.states, bindings.variables), name)
    finally:
        functions.CURRENT.reset(token)


def _compile_node(value: JSON, field: str) -> _Node:
    if is_expression(value):
        try:
            return _Expression(compile_expression(value), field)
        except JsonataSyntaxError as err:
            raise JsonataSyntaxError(err.expression, err.problem, err.position, field) from None
    if isinstance(value, dict):
        items = tuple((key, _compile_node(item, join(field, key))) for key, item in value.items())
        if all(isinstance(node, _Literal) for _, node in items):
            return _Literal(copy_json(value))
        return _Object(items)
    if isinstance(value, list):
        elements = tuple(_compile_node(item, join(field, str(index))) for index, item in enumerate(value))
        if all(isinstance(node, _Literal) for node in elements):
            return _Literal(copy_json(value))
        return _Array(elements)
    return _Literal(value)


def _render(node: _Node, data: Data, field: str) -> JSON:
    match node:
        case _Expression(expr, subpath):
            return run(expr, data, field, subpath)
        case _Object(items):
            return {key: _render(child, data, field) for key, child in items}
        case _Array(items):
            return [_render(child, data, field) for child in items]
        case _Literal(value):
            return copy_json(value)
