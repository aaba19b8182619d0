"""Validation of a whole definition: every problem at once, ValidateStateMachineDefinition-style.

``validate_definition`` checks the top level, each container of states (the machine, Parallel
branches, Map processors) and the graph of each container: transition targets exist, every state
is reachable, something ends. Per-state rules live in ``states``/``choice``,
single values in ``values``. Locations are JSON pointers (``/States/Charge/Retry/0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from statemachine.errors import Diagnostic
from statemachine.validation import asl
from statemachine.validation.asl import Kind
from statemachine.validation.json_text import JsonTextError, parse_json_text
from statemachine.validation.states import Edges, StateContext, check_state
from statemachine.validation.values import Report, at

MAX_DEFINITION_BYTES: Final = 1024 * 1024
"""Step Functions' limit on a definition's size (1 MiB)."""
MAX_NESTING: Final = 100
"""Parallel/Map nesting deeper than this is refused (TOO_DEEPLY_NESTED) instead of recursed into."""


def validate_definition_text(text: str) -> tuple[Diagnostic, ...]:
    """Every problem in a definition as sent (JSON text)."""
    if not text.strip():
        return (_not_an_object(),)
    try:
        definition = parse_json_text(text)
    except JsonTextError as exc:
        return (Diagnostic("ERROR", "INVALID_JSON_DESCRIPTION", str(exc), exc.source),)
    if not isinstance(definition, dict):
        return (_not_an_object(),)
    diagnostics = validate_definition(definition)
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DEFINITION_BYTES:
        too_big = Diagnostic(
            "ERROR",
            "SCHEMA_VALIDATION_FAILED",
            f"The definition is {size} bytes; the maximum is {MAX_DEFINITION_BYTES} bytes",
            "/",
        )
        diagnostics = (too_big, *diagnostics)
    return diagnostics


def invalid_definition_message(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> str:
    """CreateStateMachine's InvalidDefinition message for these diagnostics (errors only), as AWS words it."""
    parts = ", ".join(
        f"{d.code}: {d.message} at {d.location or 'null'}" for d in diagnostics if d.severity == "ERROR"
    )
    return f"Invalid State Machine Definition: '{parts}'"


def _not_an_object() -> Diagnostic:
    return Diagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", "")


def validate_definition(definition: Mapping[str, Any]) -> tuple[Diagnostic, ...]:
    """Every problem in a decoded ASL definition (empty when it can run)."""
    report = Report()
    top_language = definition.get("QueryLanguage", asl.JSONPATH)
    if top_language not in asl.QUERY_LANGUAGES:
        report.schema(
            f"The value for the field 'QueryLanguage' must be one of {list(asl.QUERY_LANGUAGES)}",
            "/QueryLanguage",
        )
        top_language = asl.JSONPATH
    try:
        _Walker(report, str(top_language)).container(definition, "/", asl.TOP_LEVEL, depth=0)
    except RecursionError:  # only when called with little stack left: a diagnostic, never a crash
        report.add("TOO_DEEPLY_NESTED", "The definition is nested too deeply to validate", "/")
    return tuple(report.diagnostics)


class _Walker:
    """Walks containers of states, recursing into branches and processors with an explicit depth."""

    def __init__(self, report: Report, top_language: str) -> None:
        self.report = report
        self.top_language = top_language
        self.names: dict[str, str] = {}
        """Every state name seen so far -> its location (names are unique across the whole machine)."""

    def container(self, value: Any, location: str, fields: dict[str, Kind], depth: int) -> None:
        report = self.report
        if not isinstance(value, dict):
            report.schema("The value must be an object with StartAt and States", location)
            return
        if depth > MAX_NESTING:
            report.add(
                "TOO_DEEPLY_NESTED", f"States are nested more than {MAX_NESTING} levels deep", location
            )
            return
        for key, item in value.items():
            if key not in fields:
                report.schema(f"Field '{key}' is not supported", location)
            elif fields[key] is Kind.STRING and not isinstance(item, str):
                report.schema(f"The value for the field '{key}' must be a string", at(location, key))
            elif fields[key] is Kind.POSITIVE_INT and not _positive_int(item):
                report.schema(
                    f"The value for the field '{key}' must be a positive integer", at(location, key)
                )
        missing = [key for key in ("StartAt", "States") if key not in value]
        if missing:
            report.schema(f"These fields are required: [{', '.join(missing)}]", location)
        states = value.get("States")
        if states is None:
            return
        if not isinstance(states, dict) or not states:
            report.schema(
                "The value for the field 'States' must be a non-empty object", at(location, "States")
            )
            return
        edges = Edges()
        ctx = StateContext(report, self.top_language, lambda v, loc, f: self.container(v, loc, f, depth + 1))
        for name, state in states.items():
            if report.full:
                return
            where = at(location, "States", name)
            first = self.names.setdefault(name, where)
            if first != where:
                report.add("DUPLICATE_STATE_NAME", f"State name '{name}' is already used at {first}", where)
            check_state(ctx, name, state, where, edges)
        self._graph(value.get("StartAt"), states, location, edges, depth)

    def _graph(self, start: Any, states: dict[str, Any], location: str, edges: Edges, depth: int) -> None:
        report = self.report
        for targets in edges.targets.values():
            for target, where in targets:
                if target not in states:
                    report.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {target}", where)
        if not isinstance(start, str):
            if start is not None:
                report.schema("The value for the field 'StartAt' must be a string", at(location, "StartAt"))
            return
        if start not in states:
            report.add(
                "MISSING_TRANSITION_TARGET", f"Missing 'StartAt' target: {start}", at(location, "StartAt")
            )
            return
        seen = {start}
        todo = [start]
        while todo:
            for target, _ in edges.targets.get(todo.pop(), ()):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                report.add(
                    "MISSING_TRANSITION_TARGET",
                    f'State "{name}" is not reachable.',
                    at(location, "States", name),
                )
        if not edges.terminal:
            report.add("MISSING_END_STATE", "Workflow has no terminal state", "" if depth == 0 else location)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= asl.MAX_INT
