"""JSONPath payload templates (Parameters, ResultSelector, ItemSelector, Assign) compiled once.

A template is a JSON value whose object keys ending in ``.$`` take a path (``$.a``, ``$$.Map.Item``,
``$var.x``) or an intrinsic call instead of a constant. Compiling splits the template into constant
subtrees (returned as they are: nothing downstream mutates a value it did not create) and the few
dynamic leaves, so rendering touches only what changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from statemachine import intrinsics
from statemachine.errors import StatesError
from statemachine.faults import EvaluationFault, runtime_fault
from statemachine.json_types import JSON
from statemachine.paths import Path, PathNotFound, PathSyntaxError, parse_path


@dataclass(slots=True)
class Scope:
    """What paths in one state's fields can see."""

    input: JSON
    """``$``: the document the field applies to."""
    variables: Mapping[str, JSON]
    """``$name``: the variables in scope."""
    context: Callable[[], JSON]
    """``$$``: the context object, built on first use."""
    effects: intrinsics.IntrinsicEffects


Render = Callable[[Scope], JSON]


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled payload template."""

    source: JSON
    """The template as written in the definition."""
    render: Render
    """Evaluates the template in a scope."""


def compile_template(source: JSON) -> Template:
    """Compile a payload template; paths and intrinsic calls are parsed now, not per run.

    Raises:
        PathSyntaxError: a ``.$`` value that is neither a path nor an intrinsic call.
    """
    return Template(source, _compile(source))


def compile_value(text: str, field: str) -> Template:
    """Compile one path-or-intrinsic value (``ErrorPath``, ``CausePath``) named ``field`` in errors.

    Raises:
        PathSyntaxError: neither a path nor an intrinsic call.
    """
    return Template(text, _compile_dynamic(text, field))


def resolve(path: Path, scope: Scope) -> JSON:
    """The value ``path`` selects in ``scope``.

    Raises:
        PathNotFound: nothing there (or an undefined variable).
    """
    if path.root == "input":
        return path.find(scope.input)
    if path.root == "context":
        return path.find(scope.context())
    name = path.variable
    variables = scope.variables
    if name is None or name not in variables:
        raise PathNotFound(path.text)
    return path.find(variables[name])


def _compile(source: JSON) -> Render:
    if isinstance(source, dict):
        if not any(isinstance(k, str) and k.endswith(".$") for k in source) and all(
            _is_static(v) for v in source.values()
        ):
            return _constant(source)
        return _compile_object(source)
    if isinstance(source, list):
        if all(_is_static(v) for v in source):
            return _constant(source)
        items = tuple(_compile(v) for v in source)
        return lambda scope: [render(scope) for render in items]
    return _constant(source)


def _compile_object(source: dict[str, JSON]) -> Render:
    """An object with dynamic fields: a copy of its constant skeleton (every key in order, the
    dynamic ones to be filled in) with the dynamic fields rendered into it. For ``"a"`` and ``"a.$"``
    both, the key keeps its first place and the later field its value, as in a dict display."""
    skeleton: dict[str, JSON] = {}
    renders: dict[str, Render | None] = {}
    for key, value in source.items():
        if not key.endswith(".$") and _is_static(value):
            skeleton[key] = value
            renders[key] = None
        else:
            name, render = _compile_field(key, value)
            skeleton[name] = None
            renders[name] = render
    dynamic = tuple((name, render) for name, render in renders.items() if render is not None)

    def render_object(scope: Scope) -> JSON:
        out = skeleton.copy()
        for name, render in dynamic:
            out[name] = render(scope)
        return out

    return render_object


def _is_static(value: JSON) -> bool:
    if isinstance(value, dict):
        return not any(isinstance(k, str) and k.endswith(".$") for k in value) and all(
            _is_static(v) for v in value.values()
        )
    if isinstance(value, list):
        return all(_is_static(v) for v in value)
    return True


def _constant(value: JSON) -> Render:
    return lambda scope: value


def _compile_field(key: str, value: JSON) -> tuple[str, Render]:
    if not key.endswith(".$"):
        return key, _compile(value)
    return key[:-2], _compile_dynamic(value, key)


def _compile_dynamic(value: JSON, field: str) -> Render:
    if not isinstance(value, str):
        raise PathSyntaxError(f"the value of '{field}' must be a JSONPath or an intrinsic function call")
    text = value.strip()
    if intrinsics.is_intrinsic(text):
        return _intrinsic_render(intrinsics.parse_intrinsic(text))
    return _path_render(parse_path(text), field)


def _path_render(path: Path, key: str) -> Render:
    if path.root == "input" and path.steps is not None:
        steps = path.steps
        if not steps:
            return lambda scope: scope.input
        members = tuple(step for step in steps if isinstance(step, str))
        if len(members) == len(steps):  # a member chain, ``$.a.b``: walked here

            def render_members(scope: Scope) -> JSON:
                document = scope.input
                for member in members:
                    if type(document) is not dict or member not in document:
                        raise _not_found(path, key, scope)
                    document = document[member]
                return document

            return render_members

    def render_path(scope: Scope) -> JSON:
        try:
            return resolve(path, scope)
        except PathNotFound:
            raise _not_found(path, key, scope) from None

    return render_path


def _not_found(path: Path, key: str, scope: Scope) -> EvaluationFault:
    document = scope.context() if path.root == "context" else scope.input
    shown = json.dumps(document, separators=(",", ":")) if path.root != "variable" else path.text
    return runtime_fault(
        f"The JSONPath '{path.text}' specified for the field '{key}' could not be found "
        f"in the input '{shown}'"
    )


def _intrinsic_render(call: Any) -> Render:
    def render_intrinsic(scope: Scope) -> JSON:
        def lookup(text: str) -> JSON:
            path = parse_path(text)
            try:
                return resolve(path, scope)
            except PathNotFound:
                raise runtime_fault(
                    f"Invalid path '{text}' : No results for path: {path.canonical()}"
                ) from None

        try:
            return intrinsics.evaluate_intrinsic(call, lookup, scope.effects)
        except EvaluationFault:
            raise
        except StatesError as error:
            # Reported like any field evaluation: prefixed with the state that failed.
            raise EvaluationFault(error.name, error.cause or "") from None

    return render_intrinsic
