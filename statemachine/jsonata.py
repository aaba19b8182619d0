"""JSONata, the second query language of ASL: ``{% ... %}`` expressions and the templates holding them.

    expr = compile_expression("$states.input.n + 1")        # cached by text; JsonataSyntaxError
    evaluate(expr, bindings, field="Output")                 # -> plain JSON, never shared
    render(compile_template({"a": "{% $x %}"}, "Output"), bindings)

Evaluation binds ``$states`` (input, result, errorOutput, context: include only the keys that
exist for the state) and every workflow variable as ``$name``, plus Step Functions' functions
($partition, $range, $hash, $random, $uuid, $parse). $now/$millis read ``Bindings.now`` and
$shuffle the host's random source, so replays are deterministic; $eval is refused as on AWS.
Nothing is copied per evaluation: variables are looked up in the caller's mapping, and the
registered functions read the evaluation's effects from a context variable. A runaway expression
stops after MAX_STEPS evaluation steps (counted, not timed). In a Temporal workflow the
``jsonata`` package must come from outside the sandbox (it reads ``time.time`` when compiling),
which passing ``statemachine`` through already ensures.

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
from typing import Any, Final

from jsonata import jsonata as jsonata_engine
from jsonata.jexception import JException

from statemachine import jsonata_functions
from statemachine.errors import StatesError
from statemachine.host import JSON
from statemachine.intrinsics_functions import json_type

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
_Engine = jsonata_engine.Jsonata
_MISSING: Final = object()
_ENGINE_FAULTS: Final = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, re.error)
"""What jsonata-python lets escape on odd input besides its own JException (found by fuzzing)."""
MAX_STEPS: Final = 1_000_000
"""Evaluation steps one expression may take (a few seconds); beyond, it fails instead of hanging."""
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


@dataclass(frozen=True, slots=True, eq=False)
class CompiledExpression:
    """A parsed expression, ready to evaluate any number of times."""

    text: str
    """The expression between the delimiters, trimmed (as AWS quotes it in error causes)."""
    program: Any
    """The jsonata-python program (its AST is evaluated directly, without a copy per call)."""
    simple_path: tuple[str, ...] | None = None
    """For ``$name.a.b`` (the most common shape): the names, navigated without the engine."""


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


def is_expression(value: object) -> bool:
    """Whether a definition value is a JSONata expression: a string in ``{% ... %}``."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> CompiledExpression:
    """Compile the text between the delimiters (the delimiters themselves are also accepted)."""
    inner = (text[2:-2] if is_expression(text) else text).strip()
    if not inner:
        raise JsonataSyntaxError(inner, "the expression is empty")
    try:
        program = _Engine(inner)
    except JException as err:
        raise JsonataSyntaxError(inner, _message(err), err.location) from None
    except (RecursionError, *_ENGINE_FAULTS) as err:
        raise JsonataSyntaxError(inner, str(err) or type(err).__name__) from None
    if program.errors:
        raise JsonataSyntaxError(inner, "; ".join(str(error) for error in program.errors))
    program.set_validate_input(False)
    simple = _SIMPLE_PATH.fullmatch(inner)
    steps = tuple(simple.group().lstrip("$").split(".")) if simple else ()
    if steps and _KEYWORDS.isdisjoint(steps):
        return CompiledExpression(inner, program, steps)
    return CompiledExpression(inner, program)


def evaluate(expr: CompiledExpression, bindings: Bindings, field: str = "") -> JSON:
    """Evaluate to a fresh plain JSON value; ``field`` names the ASL field in error causes."""
    token = jsonata_functions.CURRENT.set(_effects(bindings))
    try:
        return _evaluate(expr, _Data(bindings), field, "")
    finally:
        jsonata_functions.CURRENT.reset(token)


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
        raise _error(source, field or "", problem)
    name = source.field if field is None else field
    root = source.root
    if isinstance(root, _Expression):
        raise _error(root.expr, _join(name, root.subpath), problem)
    raise StatesError(
        QUERY_EVALUATION_ERROR, f"The JSONata expression specified for the field '{name}' {problem}"
    )


class _StepsExceeded(Exception):
    """An expression ran longer than MAX_STEPS."""


class _Budget:
    """Counts evaluation steps so a runaway expression (JSONata optimises tail calls, so
    ``$f := function(){$f()}`` would loop forever) fails deterministically, without a clock."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self, _expr: object, _input: object, _environment: object) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _StepsExceeded


class _Data:
    """``$states`` and the variables for one evaluate() or render() call, with the engine's view
    of each name (see ``to_engine``) made once per call, and only for the names expressions use."""

    __slots__ = ("engine_values", "states", "variables")

    def __init__(self, bindings: Bindings) -> None:
        states = bindings.states
        self.states: Any = states if isinstance(states, dict) else dict(states)
        self.variables = bindings.variables
        self.engine_values: dict[str, Any] = {}

    def lookup(self, name: str) -> Any:
        """The plain JSON value of ``$name``, or _MISSING."""
        return self.states if name == "states" else self.variables.get(name, _MISSING)

    def engine_value(self, name: str) -> Any:
        value = self.engine_values.get(name, _MISSING)
        if value is _MISSING:
            value = self.lookup(name)
            if value is not _MISSING:
                # JSON nulls must reach the engine as its null marker (None means undefined to it).
                value = jsonata_functions.to_engine(value)
                self.engine_values[name] = value
        return value


class _Scope:
    """The bindings of the evaluation frame: reads fall through to ``$states`` and the caller's
    variables without copying them; assignments made by the expression stay local."""

    __slots__ = ("_data", "_local")

    def __init__(self, data: _Data) -> None:
        # The engine looks these two hooks up at every node; answering here skips the parent chain.
        self._local: dict[str, Any] = {"__evaluate_entry": _Budget(), "__evaluate_exit": None, "$": None}
        self._data = data

    def get(self, name: str, default: Any) -> Any:
        value = self._local.get(name, _MISSING)
        if value is not _MISSING:
            return value
        value = self._data.engine_value(name)
        return default if value is _MISSING else value

    def __setitem__(self, name: str, value: Any) -> None:
        self._local[name] = value

    def items(self) -> Any:
        return self._local.items()


def _base_frame() -> Any:
    frame = _Engine.Frame(_Engine.static_frame)
    jsonata_functions.bind_all(frame)
    return frame


_BASE: Final = _base_frame()


def _evaluate(expr: CompiledExpression, data: _Data, root: str, subpath: str) -> JSON:
    """Evaluate once; an error names the field ``root/subpath`` (joined only when raising)."""
    if expr.simple_path is not None:
        found = _navigate(expr.simple_path, data)
        if found is not _MISSING:
            return _copy(found)
    field = _FieldName(root, subpath)
    frame = _Engine.Frame(_BASE)
    frame.bindings = _Scope(data)
    program = expr.program
    try:
        result = program.eval(program.ast, None, frame)
    except JException as err:
        raise _error(expr, field, f"threw an error during evaluation: {_message(err)}") from None
    except jsonata_functions.FunctionError as err:
        raise _error(expr, field, f"threw an error during evaluation: {err}") from None
    except RecursionError:
        raise _error(expr, field, "threw an error during evaluation: recursion too deep") from None
    except _ENGINE_FAULTS as err:
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise _error(expr, field, f"threw an error during evaluation: {detail}") from None
    except _StepsExceeded:
        problem = f"threw an error during evaluation: it took more than {MAX_STEPS} steps"
        raise _error(expr, field, problem) from None
    if result is None:
        raise _error(expr, field, "returned nothing (undefined).")
    try:
        return jsonata_functions.to_json(result)
    except TypeError:
        raise _error(expr, field, "returned an unsupported result type.") from None


def _navigate(steps: tuple[str, ...], data: _Data) -> Any:
    """``$name.a.b`` through objects only, as JSONata would; _MISSING sends it to the engine
    (arrays on the way or at the end, absent names, anything JSONata treats specially)."""
    value = data.lookup(steps[0])
    for key in steps[1:]:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(key, _MISSING)
        if value is _MISSING:
            return _MISSING
    if isinstance(value, list) and len(steps) > 1:
        return _MISSING  # JSONata flattens arrays met on a path; let the engine do it
    return value


class _FieldName:
    """A field name joined lazily: the happy path never builds the string."""

    __slots__ = ("root", "subpath")

    def __init__(self, root: str, subpath: str) -> None:
        self.root = root
        self.subpath = subpath

    def __str__(self) -> str:
        return _join(self.root, self.subpath)


def _error(expr: CompiledExpression, field: str | _FieldName, problem: str) -> StatesError:
    name = str(field)
    where = f" specified for the field '{name}'" if name else ""
    return StatesError(QUERY_EVALUATION_ERROR, f"The JSONata expression '{expr.text}'{where} {problem}")


def _message(err: JException) -> str:
    text = str(err)
    return text if text.startswith(err.error) else f"{err.error}: {text}"


def _effects(bindings: Bindings) -> jsonata_functions.Effects:
    return jsonata_functions.Effects(bindings.uuid4, bindings.random, bindings.now)


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
        return _copy(root.value)
    token = jsonata_functions.CURRENT.set(_effects(bindings))
    try:
        name = template.field if field is None else field
        return _render(root, _Data(bindings), name)
    finally:
        jsonata_functions.CURRENT.reset(token)


def _compile_node(value: JSON, field: str) -> _Node:
    if is_expression(value):
        try:
            return _Expression(compile_expression(value), field)
        except JsonataSyntaxError as err:
            raise JsonataSyntaxError(err.expression, err.problem, err.position, field) from None
    if isinstance(value, dict):
        items = tuple((key, _compile_node(item, _join(field, key))) for key, item in value.items())
        if all(isinstance(node, _Literal) for _, node in items):
            return _Literal(value)
        return _Object(items)
    if isinstance(value, list):
        elements = tuple(_compile_node(item, _join(field, str(index))) for index, item in enumerate(value))
        if all(isinstance(node, _Literal) for node in elements):
            return _Literal(value)
        return _Array(elements)
    return _Literal(value)


def _join(field: str, key: str) -> str:
    return f"{field}/{key}" if field and key else field or key


def _render(node: _Node, data: _Data, field: str) -> JSON:
    match node:
        case _Expression(expr, subpath):
            return _evaluate(expr, data, field, subpath)
        case _Object(items):
            return {key: _render(child, data, field) for key, child in items}
        case _Array(items):
            return [_render(child, data, field) for child in items]
        case _Literal(value):
            return _copy(value)


def _copy(value: JSON) -> JSON:
    """A deep copy of a JSON value, much faster than copy.deepcopy for this shape."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
