"""Choice rules (JSONPath): compiled once into a small tree, evaluated as a pure function.

Comparisons follow AWS: an operand of the wrong type makes the comparison false (never an error),
booleans are not numbers, timestamps compare as instants, and ``StringMatches`` treats ``*`` as a
wildcard with ``\\*`` and ``\\\\`` as escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from statemachine.faults import runtime_fault
from statemachine.json_types import JSON
from statemachine.paths import Path, PathNotFound, parse_path
from statemachine.templates import Scope, resolve
from statemachine.timestamps import parse_timestamp


@dataclass(frozen=True, slots=True)
class And:
    """``And``: every rule holds."""

    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """``Or``: some rule holds."""

    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``Not``: the rule does not hold."""

    rule: Rule


@dataclass(frozen=True, slots=True)
class Compare:
    """A data-test expression: ``Variable`` + one comparison operator."""

    variable: Path
    """``Variable``."""
    operator: str
    """The operator without a ``Path`` suffix, e.g. ``NumericEquals``, ``IsPresent``."""
    operand: JSON
    """The operator's literal value."""
    operand_path: Path | None = None
    """The operand's path, for the ``*Path`` variants."""


Rule = And | Or | Not | Compare


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def _str_cmp(op: Callable[[Any, Any], bool]) -> Callable[[JSON, JSON], bool]:
    return lambda a, b: type(a) is str and type(b) is str and op(a, b)


def _num_cmp(op: Callable[[Any, Any], bool]) -> Callable[[JSON, JSON], bool]:
    return lambda a, b: _is_number(a) and _is_number(b) and op(a, b)


def _time_cmp(op: Callable[[datetime, datetime], bool]) -> Callable[[JSON, JSON], bool]:
    def compare(a: JSON, b: JSON) -> bool:
        left, right = parse_timestamp(a), parse_timestamp(b)
        return left is not None and right is not None and op(left, right)

    return compare


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


@lru_cache(maxsize=1024)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """StringMatches' pattern as a regex: ``*`` any run of characters, ``\\*`` and ``\\\\`` literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _matches(value: JSON, pattern: JSON) -> bool:
    return (
        type(value) is str and type(pattern) is str and wildcard_regex(pattern).fullmatch(value) is not None
    )


BINARY: Mapping[str, Callable[[JSON, JSON], bool]] = {
    "StringEquals": _str_cmp(_eq),
    "StringLessThan": _str_cmp(_lt),
    "StringGreaterThan": _str_cmp(_gt),
    "StringLessThanEquals": _str_cmp(_le),
    "StringGreaterThanEquals": _str_cmp(_ge),
    "StringMatches": _matches,
    "NumericEquals": _num_cmp(_eq),
    "NumericLessThan": _num_cmp(_lt),
    "NumericGreaterThan": _num_cmp(_gt),
    "NumericLessThanEquals": _num_cmp(_le),
    "NumericGreaterThanEquals": _num_cmp(_ge),
    "BooleanEquals": lambda a, b: type(a) is bool and type(b) is bool and a == b,
    "TimestampEquals": _time_cmp(_eq),
    "TimestampLessThan": _time_cmp(_lt),
    "TimestampGreaterThan": _time_cmp(_gt),
    "TimestampLessThanEquals": _time_cmp(_le),
    "TimestampGreaterThanEquals": _time_cmp(_ge),
}
"""Operators comparing the variable with an operand."""

UNARY: Mapping[str, Callable[[JSON], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: type(v) is str,
    "IsBoolean": lambda v: type(v) is bool,
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}
"""``Is*`` type tests (``IsPresent`` is handled apart: it looks at the path, not the value)."""

OPERATORS = frozenset(BINARY) | frozenset(f"{name}Path" for name in BINARY) | frozenset(UNARY) | {"IsPresent"}
"""Every comparison operator name a rule may use."""


def compile_rule(rule: Mapping[str, Any]) -> Rule:
    """Compile one Choice rule (the validator has checked its shape: a definition's fields are ``Any``).

    Raises:
        ValueError: a rule with no recognised operator.
    """
    if "And" in rule:
        return And(tuple(compile_rule(r) for r in rule["And"]))
    if "Or" in rule:
        return Or(tuple(compile_rule(r) for r in rule["Or"]))
    if "Not" in rule:
        return Not(compile_rule(rule["Not"]))
    variable = parse_path(rule["Variable"])
    for key, value in rule.items():
        if key in BINARY or key in UNARY or key == "IsPresent":
            return Compare(variable, key, value)
        if key.endswith("Path") and key[:-4] in BINARY:
            return Compare(variable, key[:-4], None, parse_path(value))
    raise ValueError(f"choice rule has no comparison operator: {sorted(rule)}")


def evaluate(rule: Rule, scope: Scope) -> bool:
    """Whether ``rule`` holds for the state input in ``scope``.

    Raises:
        EvaluationFault: States.Runtime when ``Variable`` or an operand path selects nothing.
    """
    match rule:
        case Compare():
            return _compare(rule, scope)
        case And():
            return all(evaluate(r, scope) for r in rule.rules)
        case Or():
            return any(evaluate(r, scope) for r in rule.rules)
        case Not():
            return not evaluate(rule.rule, scope)
    raise AssertionError(rule)


def _compare(rule: Compare, scope: Scope) -> bool:
    operator = rule.operator
    if operator == "IsPresent":
        try:
            resolve(rule.variable, scope)
            present = True
        except PathNotFound:
            present = False
        return present is bool(rule.operand)
    value = _lookup(rule.variable, scope)
    unary = UNARY.get(operator)
    if unary is not None:
        return unary(value) is bool(rule.operand)
    operand = rule.operand if rule.operand_path is None else _lookup(rule.operand_path, scope)
    return BINARY[operator](value, operand)


def _lookup(path: Path, scope: Scope) -> JSON:
    try:
        return resolve(path, scope)
    except PathNotFound:
        raise runtime_fault(
            f"Invalid path '{path.text}': The choice state's condition path references an invalid value."
        ) from None
