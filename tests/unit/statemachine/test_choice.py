"""Choice rules: every comparison operator, the Is* tests, *Path variants, And/Or/Not."""

from __future__ import annotations

from typing import Any

import pytest

from statemachine.choice import compile_rule, evaluate
from statemachine.errors import StatesError
from statemachine.intrinsics.evaluate import IntrinsicEffects
from statemachine.templates import Scope

INPUT = {
    "s": "banana",
    "n": 10,
    "f": 2.5,
    "b": True,
    "t": "2024-01-01T10:00:00Z",
    "t2": "2024-01-01T12:00:00+02:00",
    "nul": None,
    "other_s": "apple",
    "other_n": 10,
}


def _holds(rule: dict[str, Any], document: Any = INPUT, variables: dict[str, Any] | None = None) -> bool:
    scope = Scope(document, variables or {}, lambda: {"State": {"Name": "C"}}, IntrinsicEffects(str, float))
    return evaluate(compile_rule(rule), scope)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.s", "StringEquals": "banana"}, True),
        ({"Variable": "$.s", "StringLessThan": "cherry"}, True),
        ({"Variable": "$.s", "StringGreaterThan": "cherry"}, False),
        ({"Variable": "$.s", "StringLessThanEquals": "banana"}, True),
        ({"Variable": "$.s", "StringGreaterThanEquals": "banana"}, True),
        ({"Variable": "$.n", "StringEquals": "10"}, False),
        ({"Variable": "$.n", "NumericEquals": 10}, True),
        ({"Variable": "$.n", "NumericEquals": 10.0}, True),
        ({"Variable": "$.f", "NumericLessThan": 3}, True),
        ({"Variable": "$.f", "NumericGreaterThan": 3}, False),
        ({"Variable": "$.n", "NumericLessThanEquals": 10}, True),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 11}, False),
        ({"Variable": "$.b", "NumericEquals": 1}, False),
        ({"Variable": "$.s", "NumericEquals": 1}, False),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.n", "BooleanEquals": True}, False),
        ({"Variable": "$.t", "TimestampEquals": "2024-01-01T12:00:00+02:00"}, True),
        ({"Variable": "$.t", "TimestampLessThan": "2024-01-01T10:00:01Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThan": "2024-01-01T10:00:01Z"}, False),
        ({"Variable": "$.t", "TimestampLessThanEquals": "2024-01-01T10:00:00.000Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThanEquals": "2025-01-01T00:00:00Z"}, False),
        ({"Variable": "$.s", "TimestampEquals": "2024-01-01T10:00:00Z"}, False),
        ({"Variable": "$.s", "StringEqualsPath": "$.s"}, True),
        ({"Variable": "$.s", "StringGreaterThanPath": "$.other_s"}, True),
        ({"Variable": "$.n", "NumericEqualsPath": "$.other_n"}, True),
        ({"Variable": "$.t", "TimestampEqualsPath": "$.t2"}, True),
        ({"Variable": "$.b", "BooleanEqualsPath": "$.b"}, True),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else next(k for k in v if k != "Variable"),
)
def test_comparisons(rule: dict[str, Any], expected: bool) -> None:
    assert _holds(rule) is expected


@pytest.mark.parametrize(
    ("operator", "path", "expected"),
    [
        ("IsNull", "$.nul", True),
        ("IsNull", "$.s", False),
        ("IsNumeric", "$.f", True),
        ("IsNumeric", "$.b", False),
        ("IsString", "$.s", True),
        ("IsString", "$.n", False),
        ("IsBoolean", "$.b", True),
        ("IsBoolean", "$.n", False),
        ("IsTimestamp", "$.t", True),
        ("IsTimestamp", "$.s", False),
        ("IsPresent", "$.nul", True),
        ("IsPresent", "$.absent", False),
    ],
    ids=lambda v: str(v),
)
def test_type_tests(operator: str, path: str, expected: bool) -> None:
    assert _holds({"Variable": path, operator: True}) is expected
    assert _holds({"Variable": path, operator: False}) is not expected


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("log-2024.txt", "log-*.txt", True),
        ("log-2024.csv", "log-*.txt", False),
        ("anything", "*", True),
        ("", "*", True),
        ("a*b", "a\\*b", True),
        ("axxb", "a\\*b", False),
        ("back\\slash", "back\\\\slash", True),
        ("multi\nline", "multi*", True),
        ("a.c", "a.c", True),
        ("abc", "a.c", False),
    ],
    ids=[
        "wildcard",
        "wildcard-miss",
        "star",
        "star-empty",
        "escaped-star",
        "escaped-star-literal",
        "escaped-backslash",
        "newline",
        "dot-literal",
        "dot-not-regex",
    ],
)
def test_string_matches(value: str, pattern: str, expected: bool) -> None:
    assert _holds({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            {"And": [{"Variable": "$.n", "NumericEquals": 10}, {"Variable": "$.b", "BooleanEquals": True}]},
            True,
        ),
        (
            {"And": [{"Variable": "$.n", "NumericEquals": 10}, {"Variable": "$.b", "BooleanEquals": False}]},
            False,
        ),
        ({"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.b", "BooleanEquals": True}]}, True),
        ({"Not": {"Variable": "$.n", "NumericEquals": 10}}, False),
        ({"Not": {"Or": [{"Variable": "$.absent", "IsPresent": True}]}}, True),
    ],
    ids=["and-true", "and-false", "or", "not", "nested"],
)
def test_boolean_combinators(rule: dict[str, Any], expected: bool) -> None:
    assert _holds(rule) is expected


def test_variables_and_context_are_readable() -> None:
    assert _holds({"Variable": "$limit", "NumericGreaterThan": 5}, variables={"limit": 6})
    assert _holds({"Variable": "$$.State.Name", "StringEquals": "C"})


@pytest.mark.parametrize(
    "rule",
    [{"Variable": "$.absent", "StringEquals": "x"}, {"Variable": "$.s", "StringEqualsPath": "$.absent"}],
    ids=["variable", "operand-path"],
)
def test_missing_paths_are_runtime_errors(rule: dict[str, Any]) -> None:
    with pytest.raises(StatesError) as raised:
        _holds(rule)
    assert raised.value.name == "States.Runtime"
