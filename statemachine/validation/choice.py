"""Checks of a Choice state's rules: JSONPath comparisons (Variable + one operator, And/Or/Not)
or JSONata ``Condition``s, with the operand kinds ASL requires."""

from __future__ import annotations

from typing import Any

from statemachine.json_types import type_name as describe
from statemachine.timestamps import parse_timestamp
from statemachine.validation import asl
from statemachine.validation.asl import Kind
from statemachine.validation.values import (
    Report,
    at,
    check_assign,
    check_expression,
    check_jsonata_value,
    check_path,
)

_OPERAND_CHECKS = {
    Kind.STRING: lambda v: isinstance(v, str),
    Kind.NUMBER: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    Kind.BOOLEAN: lambda v: isinstance(v, bool),
}


def check_choices(
    report: Report, state: dict[str, Any], location: str, language: str, out: list[tuple[str, str]]
) -> None:
    """The Choices array of one Choice state; each top-level rule's Next goes into ``out``."""
    choices = state.get("Choices")
    where = at(location, "Choices")
    if choices is None:
        report.schema("These fields are required: [Choices]", location)
        return
    if not isinstance(choices, list) or not choices:
        report.schema("The value for the field 'Choices' must be a non-empty array", where)
        return
    for i, rule in enumerate(choices):
        _check_rule(report, rule, at(where, i), language, out, top=True, depth=0)


def _check_rule(
    report: Report,
    rule: Any,
    location: str,
    language: str,
    out: list[tuple[str, str]],
    *,
    top: bool,
    depth: int,
) -> None:
    if not isinstance(rule, dict):
        report.schema("A choice rule must be an object", location)
        return
    if depth > 100:
        report.add("TOO_DEEPLY_NESTED", "The choice rule is nested too deeply", location)
        return
    if top:
        nxt = rule.get("Next")
        if not isinstance(nxt, str):
            report.schema("These fields are required: [Next]", location)
        else:
            out.append((nxt, at(location, "Next")))
        if "Assign" in rule:
            check_assign(report, rule["Assign"], at(location, "Assign"), language)
    if language == asl.JSONATA:
        _check_jsonata_rule(report, rule, location, top)
    else:
        _check_jsonpath_rule(report, rule, location, language, out, top, depth)


_TOP_ONLY = ("Next", "Assign", "Output")


def _check_jsonata_rule(report: Report, rule: dict[str, Any], location: str, top: bool) -> None:
    allowed = {"Condition", "Comment", *(_TOP_ONLY if top else ())}
    for key in rule:
        if key not in allowed:
            report.schema(f"Field '{key}' is not supported", location)
    condition = rule.get("Condition")
    if condition is None:
        report.schema("These fields are required: [Condition]", location)
    elif isinstance(condition, bool):
        pass
    elif not isinstance(condition, str):
        report.schema(
            "The value for the field 'Condition' must be a JSONata expression or a boolean", location
        )
    else:
        check_expression(report, condition, at(location, "Condition"))
    if top and "Output" in rule:
        check_jsonata_value(report, rule["Output"], at(location, "Output"))


def _check_jsonpath_rule(
    report: Report,
    rule: dict[str, Any],
    location: str,
    language: str,
    out: list[tuple[str, str]],
    top: bool,
    depth: int,
) -> None:
    operators = [k for k in rule if k in asl.COMPARISONS_WITH_PATH]
    combinators = [k for k in rule if k in asl.BOOLEAN_OPERATORS]
    for key in rule:
        if key in asl.COMPARISONS_WITH_PATH or key in asl.BOOLEAN_OPERATORS or key in ("Variable", "Comment"):
            continue
        if top and key in ("Next", "Assign"):
            continue
        if key in ("Condition", "Output"):
            report.schema(
                f"The QueryLanguage is set to '{language}', but field '{key}' is only supported for the "
                "'JSONata' QueryLanguage",
                location,
            )
            continue
        report.schema(f"Field '{key}' is not supported", location)
    if len(operators) + len(combinators) != 1:
        found = operators + combinators
        message = (
            "A choice rule must have exactly one comparison operator or And, Or, Not"
            if found
            else "A choice rule needs a comparison operator (with Variable) or And, Or, Not"
        )
        report.schema(message, location)
        return
    if combinators:
        _check_combinator(report, rule, combinators[0], location, language, out, depth)
        if "Variable" in rule:
            report.schema("Field 'Variable' is not supported", location)
        return
    operator = operators[0]
    if "Variable" not in rule:
        report.schema("These fields are required: [Variable]", location)
    else:
        check_path(
            report, rule["Variable"], "Variable", at(location, "Variable"), reference=False, nullable=False
        )
    _check_operand(report, operator, rule[operator], at(location, operator))


def _check_combinator(
    report: Report,
    rule: dict[str, Any],
    combinator: str,
    location: str,
    language: str,
    out: list[tuple[str, str]],
    depth: int,
) -> None:
    value, where = rule[combinator], at(location, combinator)
    if combinator == "Not":
        _check_rule(report, value, where, language, out, top=False, depth=depth + 1)
        return
    if not isinstance(value, list) or not value:
        report.schema(f"The value for the field '{combinator}' must be a non-empty array", where)
        return
    for i, sub in enumerate(value):
        _check_rule(report, sub, at(where, i), language, out, top=False, depth=depth + 1)


def _check_operand(report: Report, operator: str, value: Any, location: str) -> None:
    kind = asl.COMPARISONS_WITH_PATH[operator]
    if kind is Kind.PATH:
        check_path(report, value, operator, location, reference=False, nullable=False)
        return
    if not _OPERAND_CHECKS[kind](value):
        report.schema(
            f"The value for the field '{operator}' must be a {kind.value}, not {describe(value)}", location
        )
    elif operator.startswith("Timestamp") and parse_timestamp(value) is None:
        report.schema("String does not match RFC3339 timestamp", location)
