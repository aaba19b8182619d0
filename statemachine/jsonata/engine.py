"""The binding to jsonata-python: one evaluation of a compiled expression, and its errors.

Kept apart from ``statemachine.jsonata.expressions`` (the API the interpreter uses) because this is where the
library's internals are touched: the frame whose bindings fall through to the caller's data
without copying it, the step budget, the null marker, and the Python errors the library lets out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jsonata.jexception import JException
from jsonata.jsonata import Jsonata

from statemachine.errors import StatesError
from statemachine.json_types import JSON
from statemachine.jsonata import fast, functions

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
MAX_STEPS: Final = 1_000_000
"""Evaluation steps one expression may take (a few seconds); beyond, it fails instead of hanging."""
ENGINE_FAULTS: Final = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError, re.error)
"""What jsonata-python lets escape on odd input besides its own JException (found by fuzzing)."""
_MISSING: Final = object()


@dataclass(frozen=True, slots=True, eq=False)
class CompiledExpression:
    """A parsed expression, ready to evaluate any number of times."""

    text: str
    """The expression between the delimiters, trimmed (as AWS quotes it in error causes)."""
    program: Any
    """The jsonata-python program (its AST is evaluated directly, without a copy per call)."""
    simple_path: tuple[str, ...] | None = None
    """For ``$name.a.b`` (the most common shape): the names, navigated without the engine."""
    condition: fast.Condition | None = None
    """For comparisons of paths and literals (Choice conditions): decided without the engine."""


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


class Data:
    """``$states`` and the variables for one evaluate() or render() call, with the engine's view
    of each name (see ``to_engine``) made once per call, and only for the names expressions use."""

    __slots__ = ("engine_values", "states", "variables")

    def __init__(self, states: Mapping[str, JSON], variables: Mapping[str, JSON]) -> None:
        self.states: Any = states if isinstance(states, dict) else dict(states)
        self.variables = variables
        self.engine_values: dict[str, Any] = {}

    def lookup(self, name: str) -> Any:
        """The plain JSON value of ``$name``, or _MISSING."""
        return self.states if name == "states" else self.variables.get(name, _MISSING)

    def resolve(self, steps: tuple[str, ...]) -> Any:
        """A simple path's value for ``fast``; Fallback when the engine must decide."""
        value = _navigate(steps, self)
        if value is _MISSING:
            raise fast.Fallback
        return value

    def engine_value(self, name: str) -> Any:
        value = self.engine_values.get(name, _MISSING)
        if value is _MISSING:
            value = self.lookup(name)
            if value is not _MISSING:
                # JSON nulls must reach the engine as its null marker (None means undefined to it).
                value = functions.to_engine(value)
                self.engine_values[name] = value
        return value


class _Scope:
    """The bindings of the evaluation frame: reads fall through to ``$states`` and the caller's
    variables without copying them; assignments made by the expression stay local."""

    __slots__ = ("_data", "_local")

    def __init__(self, data: Data) -> None:
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
    frame = Jsonata.Frame(Jsonata.static_frame)
    functions.bind_all(frame)
    return frame


_BASE: Final = _base_frame()


def run(expr: CompiledExpression, data: Data, root: str, subpath: str) -> JSON:
    """Evaluate once; an error names the field ``root/subpath`` (joined only when raising)."""
    if expr.simple_path is not None:
        found = _navigate(expr.simple_path, data)
        if found is not _MISSING:
            return copy_json(found)
    elif expr.condition is not None:
        try:
            return fast.decide(expr.condition, data.resolve)
        except fast.Fallback:
            pass
    field = _FieldName(root, subpath)
    frame = Jsonata.Frame(_BASE)
    frame.bindings = _Scope(data)
    program = expr.program
    try:
        result = program.eval(program.ast, None, frame)
    except JException as err:
        raise error(expr, field, f"threw an error during evaluation: {message(err)}") from None
    except functions.FunctionError as err:
        raise error(expr, field, f"threw an error during evaluation: {err}") from None
    except RecursionError:
        raise error(expr, field, "threw an error during evaluation: recursion too deep") from None
    except ENGINE_FAULTS as err:
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise error(expr, field, f"threw an error during evaluation: {detail}") from None
    except _StepsExceeded:
        problem = f"threw an error during evaluation: it took more than {MAX_STEPS} steps"
        raise error(expr, field, problem) from None
    if result is None:
        raise error(expr, field, "returned nothing (undefined).")
    try:
        return functions.to_json(result)
    except TypeError:
        raise error(expr, field, "returned an unsupported result type.") from None


def _navigate(steps: tuple[str, ...], data: Data) -> Any:
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
        return join(self.root, self.subpath)


def error(expr: CompiledExpression, field: str | _FieldName, problem: str) -> StatesError:
    name = str(field)
    where = f" specified for the field '{name}'" if name else ""
    return StatesError(QUERY_EVALUATION_ERROR, f"The JSONata expression '{expr.text}'{where} {problem}")


def message(err: JException) -> str:
    text = str(err)
    return text if text.startswith(err.error) else f"{err.error}: {text}"


def join(field: str, key: str) -> str:
    return f"{field}/{key}" if field and key else field or key


def copy_json(value: JSON) -> JSON:
    """A deep copy of a JSON value, much faster than copy.deepcopy for this shape."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value
