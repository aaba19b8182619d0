"""Checks of single values inside a definition: paths, payload templates, JSONata, assignments.

Each check appends diagnostics to a :class:`Report` instead of raising, so one pass over a
definition lists every problem. The parsers are the interpreter's own (``paths``,
``intrinsics``, ``jsonata``): what validates here is exactly what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from statemachine.errors import Diagnostic, Severity
from statemachine.intrinsics import IntrinsicSyntaxError, parse_intrinsic
from statemachine.jsonata import JsonataSyntaxError, compile_expression, is_expression
from statemachine.paths import PathSyntaxError, parse_path, parse_reference_path

SCHEMA: Final = "SCHEMA_VALIDATION_FAILED"
INVALID_JSONATA: Final = "INVALID_JSONATA_EXPRESSION"
MAX_DIAGNOSTICS: Final = 1000
"""Stop collecting after this many: a 10 MB definition of mistakes must not yield 10 MB of report."""

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(slots=True)
class Report:
    """Diagnostics collected so far."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def add(self, code: str, message: str, location: str, severity: Severity = "ERROR") -> None:
        if len(self.diagnostics) < MAX_DIAGNOSTICS:
            self.diagnostics.append(Diagnostic(severity, code, message, location))

    def schema(self, message: str, location: str) -> None:
        self.add(SCHEMA, message, location)

    @property
    def full(self) -> bool:
        return len(self.diagnostics) >= MAX_DIAGNOSTICS


def at(location: str, *keys: str | int) -> str:
    """Extend a JSON pointer (``/`` is the document itself)."""
    base = "" if location == "/" else location
    return base + "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def check_path(
    report: Report, value: Any, name: str, location: str, *, reference: bool, nullable: bool
) -> None:
    """A JSONPath field (or a reference path where the field needs one)."""
    if value is None and nullable:
        return
    kind = "Reference Path" if reference else "JSONPath"
    if not isinstance(value, str):
        report.schema(f"The value for the field '{name}' must be a valid {kind}", location)
        return
    try:
        (parse_reference_path if reference else parse_path)(value)
    except PathSyntaxError:
        report.schema(f"The value for the field '{name}' must be a valid {kind}", location)


def check_path_or_intrinsic(report: Report, value: Any, name: str, location: str) -> None:
    """A value that may be a path or an intrinsic call (``.$`` keys, ErrorPath, CausePath)."""
    message = f"The value for the field '{name}' must be a valid JSONPath or a valid intrinsic function call"
    if not isinstance(value, str):
        report.schema(message, location)
        return
    try:
        if value.lstrip().startswith("States."):
            parse_intrinsic(value)
        else:
            parse_path(value)
    except (PathSyntaxError, IntrinsicSyntaxError):
        report.schema(message, location)


def check_payload_template(report: Report, template: Any, location: str) -> None:
    """Every ``.$`` key in a payload template holds a path or an intrinsic call (AWS points at the field);
    a plain key whose string looks like one gets a NO_DOLLAR warning (it will not be evaluated)."""
    for key, value, dynamic in _entries(template):
        if dynamic:
            check_path_or_intrinsic(report, value, key, location)
        elif looks_dynamic(value):
            report.add(
                "NO_DOLLAR",
                f"The value for the field '{key}' looks like a JSONPath or an intrinsic function call, "
                f"but the field name does not end with '.$', so it is used as a literal",
                location,
                "WARNING",
            )
        if report.full:
            return


def looks_dynamic(value: Any) -> bool:
    """A string a user most likely meant to evaluate (``$.a``, ``$$.Execution.Id``, ``States.X(...)``)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return (
        text == "$"
        or text.startswith(("$.", "$$.", "$["))
        or (text.startswith("States.") and text.endswith(")"))
    )


def _entries(template: Any) -> Iterator[tuple[str, Any, bool]]:
    """(key, value, is ``.$`` key) for every object entry in a template, at any depth."""
    stack = [template]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                dynamic = isinstance(key, str) and key.endswith(".$")
                yield str(key), value, dynamic
                if not dynamic:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def check_jsonata_value(report: Report, value: Any, location: str) -> None:
    """Every ``{% %}`` string inside ``value`` compiles (INVALID_JSONATA_EXPRESSION at that string)."""
    stack: list[tuple[Any, str]] = [(value, location)]
    while stack and not report.full:
        node, where = stack.pop()
        if isinstance(node, str):
            check_expression(report, node, where)
        elif isinstance(node, dict):
            stack.extend((v, at(where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, at(where, i)) for i, v in enumerate(node))


def check_expression(report: Report, text: str, location: str) -> None:
    """One string: if it is a JSONata expression, it must compile."""
    if not is_expression(text):
        return
    try:
        compile_expression(text)
    except JsonataSyntaxError as exc:
        report.add(INVALID_JSONATA, exc.problem, location)


def check_assign(report: Report, assign: Any, location: str, language: str) -> None:
    """Assign: variable name -> value; ``.$`` values are paths (JSONPath), strings may be JSONata."""
    if not isinstance(assign, dict):
        report.schema("The value for the field 'Assign' must be an object", location)
        return
    for key, value in assign.items():
        name = key[:-2] if language == "JSONPath" and key.endswith(".$") else key
        if not _VARIABLE_NAME.fullmatch(name):
            report.schema(f"The variable name '{name}' is not valid", at(location, key))
        if language == "JSONata":
            check_jsonata_value(report, value, at(location, key))
        elif key.endswith(".$"):
            check_path_or_intrinsic(report, value, key, location)
        else:
            check_payload_template(report, value, location)
