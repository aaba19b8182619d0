"""A shortcut for the commonest Choice conditions: comparisons of paths and literals.

``$states.input.value >= 20 and $states.input.status = 'open'`` costs some 30 us in the engine and
about 2 us here. Only a small grammar is recognised (simple ``$name.a.b`` paths, number, string,
boolean and null literals, ``= != < <= > >=``, ``and``, ``or``), and only values whose meaning is
unambiguous are decided here: scalars of comparable types. Anything else (an absent value, an
array or object operand, mismatched types for ``<``, which JSONata reports as an error) raises
``Fallback`` and the engine evaluates the expression, so results and errors stay the engine's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from statemachine.json_types import JSON

Resolve = Callable[[tuple[str, ...]], Any]
"""Looks up a simple path; returns the value, or raises Fallback when the engine must decide."""


class Fallback(Exception):
    """The shortcut cannot decide this evaluation exactly; use the engine."""


@dataclass(frozen=True, slots=True)
class _Path:
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Constant:
    value: JSON


@dataclass(frozen=True, slots=True)
class _Compare:
    operator: str
    left: _Path | _Constant
    right: _Path | _Constant


@dataclass(frozen=True, slots=True)
class _Logic:
    operator: str  # "and" | "or"
    operands: tuple[_Compare | _Logic, ...]


Condition = _Compare | _Logic

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<path>\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?![A-Za-z0-9_(\[.])
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![A-Za-z0-9_.])
      | '(?P<single>[^'\\]*)'
      | "(?P<double>[^"\\]*)"
      | (?P<word>true|false|null|and|or)(?![A-Za-z0-9_$])
      | (?P<operator>!=|<=|>=|=|<|>)
    )""",
    re.VERBOSE,
)
_LITERAL_WORDS: Final = {"true": True, "false": False, "null": None}
_RESERVED: Final = frozenset({"and", "or", "in", "true", "false", "null", "function"})


def compile_condition(text: str) -> Condition | None:
    """The condition tree for ``text``, or None when it is outside the small grammar."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    try:
        condition, rest = _or(tokens)
    except (IndexError, ValueError):
        return None
    return condition if not rest else None


def decide(condition: Condition, resolve: Resolve) -> bool:
    """Evaluate; raises Fallback when only the engine can give the exact answer."""
    if isinstance(condition, _Logic):
        if condition.operator == "and":
            return all(decide(operand, resolve) for operand in condition.operands)
        return any(decide(operand, resolve) for operand in condition.operands)
    left = _operand(condition.left, resolve)
    right = _operand(condition.right, resolve)
    operator = condition.operator
    if operator in ("=", "!="):
        equal = _equal(left, right)
        return equal if operator == "=" else not equal
    if not (_is_number(left) and _is_number(right)) and not (
        isinstance(left, str) and isinstance(right, str)
    ):
        raise Fallback  # JSONata raises T2009/T2010 here; let the engine say it
    if operator == "<":
        return bool(left < right)
    if operator == "<=":
        return bool(left <= right)
    if operator == ">":
        return bool(left > right)
    return bool(left >= right)


def _operand(node: _Path | _Constant, resolve: Resolve) -> Any:
    value = node.value if isinstance(node, _Constant) else resolve(node.steps)
    if isinstance(value, list | dict):
        raise Fallback  # sequences and objects compare in ways best left to the engine
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _tokens(text: str) -> list[tuple[str, Any]] | None:
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        position = match.end()
        kind = match.lastgroup
        if kind == "path":
            steps = tuple(match.group("path")[1:].split("."))
            if not _RESERVED.isdisjoint(steps):
                return None
            tokens.append(("operand", _Path(steps)))
        elif kind == "number":
            literal = match.group("number")
            number = float(literal) if any(c in literal for c in ".eE") else int(literal)
            if number in (float("inf"), float("-inf")):
                return None
            tokens.append(("operand", _Constant(number)))
        elif kind in ("single", "double"):
            tokens.append(("operand", _Constant(match.group(kind))))
        elif kind == "word" and match.group("word") in _LITERAL_WORDS:
            tokens.append(("operand", _Constant(_LITERAL_WORDS[match.group("word")])))
        elif kind == "word":
            tokens.append(("logic", match.group("word")))
        else:
            tokens.append(("compare", match.group("operator")))
    return tokens


def _or(tokens: list[tuple[str, Any]]) -> tuple[Condition, list[tuple[str, Any]]]:
    operands = []
    node, tokens = _and(tokens)
    operands.append(node)
    while tokens and tokens[0] == ("logic", "or"):
        node, tokens = _and(tokens[1:])
        operands.append(node)
    return (operands[0] if len(operands) == 1 else _Logic("or", tuple(operands))), tokens


def _and(tokens: list[tuple[str, Any]]) -> tuple[Condition, list[tuple[str, Any]]]:
    operands = []
    node, tokens = _compare(tokens)
    operands.append(node)
    while tokens and tokens[0] == ("logic", "and"):
        node, tokens = _compare(tokens[1:])
        operands.append(node)
    return (operands[0] if len(operands) == 1 else _Logic("and", tuple(operands))), tokens


def _compare(tokens: list[tuple[str, Any]]) -> tuple[_Compare, list[tuple[str, Any]]]:
    (left_kind, left), (operator_kind, operator), (right_kind, right) = tokens[:3]
    if (left_kind, operator_kind, right_kind) != ("operand", "compare", "operand"):
        raise ValueError("not a comparison")
    return _Compare(operator, left, right), tokens[3:]
