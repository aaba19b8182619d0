"""Checks of one state: its fields against the tables in ``definition``, then per-type rules.

Transitions are collected into ``Edges`` for the graph checks in ``validate``; nested Parallel
branches and Map processors are handed back to ``validate`` through the ``container`` callback,
so nesting is validated recursively with correct locations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from statemachine.jsonata import is_expression
from statemachine.service_resources import resource_problem
from statemachine.timestamps import parse_timestamp
from statemachine.validation import asl
from statemachine.validation.asl import Kind
from statemachine.validation.choice import check_choices
from statemachine.validation.distributed import check_distributed
from statemachine.validation.express import express_processor_diagnostics
from statemachine.validation.http_task import check_http_task
from statemachine.validation.values import (
    Report,
    at,
    check_assign,
    check_expression,
    check_jsonata_value,
    check_path,
    check_path_or_intrinsic,
    check_payload_template,
    looks_dynamic,
)

Targets = list[tuple[str, str]]
"""Transitions out of one state: (target state name, location of the field naming it)."""

ContainerCheck = Callable[[Any, str, dict[str, Kind]], None]
"""validate's callback for a nested branch or processor: (value, location, allowed fields)."""


@dataclass(slots=True)
class Edges:
    """Transitions out of the states of one container: (target, location of the field naming it)."""

    targets: dict[str, Targets] = field(default_factory=dict)
    terminal: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class StateContext:
    """What every state check needs: where to report, the machine's language, how to recurse."""

    report: Report
    top_language: str
    container: ContainerCheck


def check_state(ctx: StateContext, name: str, state: Any, location: str, edges: Edges) -> None:
    """Every problem of one state; its transitions go into ``edges``."""
    report = ctx.report
    out = edges.targets.setdefault(name, [])
    if len(name) > asl.MAX_STATE_NAME:
        report.add(
            "INVALID_STATE_NAME",
            f"State name '{name[:40]}...' exceeds {asl.MAX_STATE_NAME} characters",
            location,
        )
    if not isinstance(state, dict):
        report.schema(f"The value for the state '{name}' must be an object", location)
        return
    state_type = state.get("Type")
    if state_type is None:
        report.schema("These fields are required: [Type]", location)
        return
    if state_type not in asl.STATE_TYPES:
        report.schema(
            f"The value for the field 'Type' must be one of {list(asl.STATE_TYPES)}", at(location, "Type")
        )
        return
    language = _language(ctx, state, location)
    allowed = asl.STATE_FIELDS[state_type]
    for key, value in state.items():
        kind = allowed.get(key)
        if kind is None:
            report.schema(f"Field '{key}' is not supported", location)
        elif key != "QueryLanguage" and _language_allows(report, key, language, location):
            _check_field(ctx, key, kind, value, at(location, key), language, out)
    _check_exclusive(report, state, location)
    if state_type in ("Choice", "Succeed", "Fail"):
        if state_type != "Choice":
            edges.terminal.add(name)
    else:
        _check_flow(report, state, location, out, edges, name)
    {
        "Task": _check_task,
        "Wait": _check_wait,
        "Choice": _check_choice,
        "Parallel": _check_parallel,
        "Map": _check_map,
        "Pass": _check_pass,
        "Fail": _check_fail,
    }.get(state_type, _no_more)(ctx, state, location, language, out)


def _no_more(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    """Succeed needs nothing beyond its fields."""


def _check_pass(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    result = state.get("Result")
    if isinstance(result, dict) and any(k.endswith(".$") for k in result if isinstance(k, str)):
        ctx.report.add(
            "PASS_RESULT_IS_STATIC",
            "The Result of a Pass state is not evaluated: its '.$' fields stay literal (use Parameters)",
            at(location, "Result"),
            "WARNING",
        )


def _check_fail(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    for key in ("Error", "Cause"):
        if language == asl.JSONPATH and looks_dynamic(state.get(key)):
            ctx.report.add(
                "NO_PATH",
                f"The value for the field '{key}' looks like a path, but the field name does not end with "
                f"'Path', so it is used as a literal (use '{key}Path')",
                at(location, key),
                "WARNING",
            )


def _language(ctx: StateContext, state: dict[str, Any], location: str) -> str:
    declared = state.get("QueryLanguage")
    if declared is None:
        return ctx.top_language
    if declared not in asl.QUERY_LANGUAGES:
        ctx.report.schema(
            f"The value for the field 'QueryLanguage' must be one of {list(asl.QUERY_LANGUAGES)}",
            at(location, "QueryLanguage"),
        )
        return ctx.top_language
    if declared == asl.JSONPATH and ctx.top_language == asl.JSONATA:
        ctx.report.schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", location
        )
    return str(declared)


def _language_allows(report: Report, key: str, language: str, location: str) -> bool:
    only = asl.JSONPATH if key in asl.JSONPATH_ONLY else asl.JSONATA if key in asl.JSONATA_ONLY else None
    if only is None or only == language:
        return True
    report.schema(
        f"The QueryLanguage is set to '{language}', but field '{key}' is only supported "
        f"for the '{only}' QueryLanguage",
        location,
    )
    return False


def _check_exclusive(report: Report, state: dict[str, Any], location: str) -> None:
    for group in asl.MUTUALLY_EXCLUSIVE:
        present = [f for f in group if f in state]
        if len(present) > 1:
            report.schema(f"Only one of the fields {present} may be set", location)


def _check_flow(
    report: Report, state: dict[str, Any], location: str, out: Targets, edges: Edges, name: str
) -> None:
    has_next, end = "Next" in state, state.get("End")
    if end is not None and end is not True:
        report.schema("The value for the field 'End' must be true", at(location, "End"))
    if has_next and end is True:
        report.schema("Only one of the fields ['Next', 'End'] may be set", location)
    elif not has_next and end is not True:
        report.schema("These fields are required: [Next or End]", location)
    if end is True:
        edges.terminal.add(name)


def _check_field(
    ctx: StateContext, key: str, kind: Kind, value: Any, location: str, language: str, out: Targets
) -> None:
    """One field of a state (or of a catcher, retrier or choice rule) by its kind."""
    report = ctx.report
    if language == asl.JSONATA and key in asl.JSONATA_EXPRESSION_ALLOWED and is_expression(value):
        check_expression(report, value, location)
        return
    match kind:
        case Kind.STRING:
            if not isinstance(value, str):
                report.schema(f"The value for the field '{key}' must be a string", location)
        case Kind.BOOLEAN:
            if not isinstance(value, bool):
                report.schema(f"The value for the field '{key}' must be a boolean", location)
        case Kind.POSITIVE_INT | Kind.NON_NEGATIVE_INT:
            _check_int(report, key, value, location, 1 if kind is Kind.POSITIVE_INT else 0)
        case Kind.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                report.schema(f"The value for the field '{key}' must be a number", location)
        case Kind.OBJECT:
            if not isinstance(value, dict):
                report.schema(f"The value for the field '{key}' must be an object", location)
        case Kind.PATH:
            if key in ("ErrorPath", "CausePath"):
                check_path_or_intrinsic(report, value, key, location)
            else:
                check_path(
                    report, value, key, location, reference=False, nullable=key in ("InputPath", "OutputPath")
                )
        case Kind.REFERENCE_PATH:
            check_path(report, value, key, location, reference=True, nullable=key == "ResultPath")
        case Kind.PAYLOAD_TEMPLATE:
            if language == asl.JSONATA:
                check_jsonata_value(report, value, location)
            else:
                check_payload_template(report, value, location)
        case Kind.JSONATA_VALUE:
            check_jsonata_value(report, value, location)
        case Kind.ASSIGN:
            check_assign(report, value, location, language)
        case Kind.STATE_NAME:
            if not isinstance(value, str):
                report.schema(f"The value for the field '{key}' must be a string", location)
            else:
                out.append((value, location))
        case Kind.TIMESTAMP:
            if not isinstance(value, str) or parse_timestamp(value) is None:
                report.schema("String does not match RFC3339 timestamp", location)
        case Kind.ERROR_NAME:
            _check_error_equals(report, value, location)
        case Kind.RETRY:
            _check_retriers(ctx, value, location, language)
        case Kind.CATCH:
            _check_catchers(ctx, value, location, language, out)
        case Kind.ANY | Kind.CHOICES | Kind.BRANCHES | Kind.PROCESSOR:
            pass  # checked with their state type


def _check_int(report: Report, key: str, value: Any, location: str, minimum: int) -> None:
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral:
        report.schema(f"The value for the field '{key}' must be an integer", location)
        return
    ceiling = asl.MAX_DELAY_SECONDS if key == "MaxDelaySeconds" else asl.MAX_INT
    if not minimum <= value <= ceiling:
        report.schema(f"The value for the field '{key}' must be between {minimum} and {ceiling}", location)


def _check_error_equals(report: Report, value: Any, location: str) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        report.schema("The value for the field 'ErrorEquals' must be a non-empty array of strings", location)
    elif "States.ALL" in value and len(value) > 1:
        report.schema("States.ALL must appear alone in ErrorEquals", location)


def _check_handlers(
    ctx: StateContext, value: Any, location: str, language: str, fields: dict[str, Kind], what: str
) -> list[dict[str, Any]]:
    """Retry or Catch: an array of objects with known fields; States.ALL only in the last one."""
    report = ctx.report
    if not isinstance(value, list):
        report.schema(f"The value for the field '{what}' must be an array", location)
        return []
    handlers: list[dict[str, Any]] = []
    for i, handler in enumerate(value):
        where = at(location, i)
        if not isinstance(handler, dict):
            report.schema(f"The value for the field '{what}' must be an array of objects", where)
            continue
        handlers.append(handler)
        if "ErrorEquals" not in handler:
            report.schema("These fields are required: [ErrorEquals]", where)
        errors = handler.get("ErrorEquals")
        if isinstance(errors, list) and "States.ALL" in errors and i != len(value) - 1:
            report.schema(f"A {what} element with States.ALL must be the last one", at(where, "ErrorEquals"))
        for key in handler:
            if key not in fields:
                report.schema(f"Field '{key}' is not supported", where)
    return handlers


def _check_retriers(ctx: StateContext, value: Any, location: str, language: str) -> None:
    report = ctx.report
    for i, retrier in enumerate(_check_handlers(ctx, value, location, language, asl.RETRIER, "Retry")):
        where = at(location, i)
        for key, val in retrier.items():
            kind = asl.RETRIER.get(key)
            if kind is not None:
                _check_field(ctx, key, kind, val, at(where, key), language, [])
        rate = retrier.get("BackoffRate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate < 1:
            report.schema(
                "The value for the field 'BackoffRate' must be at least 1.0", at(where, "BackoffRate")
            )
        jitter = retrier.get("JitterStrategy")
        if jitter is not None and jitter not in asl.JITTER_STRATEGIES:
            report.schema(
                f"The value for the field 'JitterStrategy' must be one of {list(asl.JITTER_STRATEGIES)}",
                at(where, "JitterStrategy"),
            )


def _check_catchers(ctx: StateContext, value: Any, location: str, language: str, out: Targets) -> None:
    for i, catcher in enumerate(_check_handlers(ctx, value, location, language, asl.CATCHER, "Catch")):
        where = at(location, i)
        if "Next" not in catcher:
            ctx.report.schema("These fields are required: [Next]", where)
        for key, val in catcher.items():
            kind = asl.CATCHER.get(key)
            if kind is not None and _language_allows(ctx.report, key, language, where):
                _check_field(ctx, key, kind, val, at(where, key), language, out)


def _check_task(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    if "Resource" not in state:
        ctx.report.schema("These fields are required: [Resource]", location)
    elif isinstance(state["Resource"], str) and (problem := resource_problem(state["Resource"])):
        ctx.report.schema(problem, at(location, "Resource"))
    check_http_task(ctx.report, state, location, language)
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        ctx.report.schema(
            "The value for the field 'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            at(location, "HeartbeatSeconds"),
        )


def _check_wait(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    if not any(f in state for f in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")):
        ctx.report.schema(
            "One of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath]", location
        )


def _check_parallel(
    ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets
) -> None:
    branches = state.get("Branches")
    if branches is None:
        ctx.report.schema("These fields are required: [Branches]", location)
    elif not isinstance(branches, list) or not branches:
        ctx.report.schema(
            "The value for the field 'Branches' must be a non-empty array", at(location, "Branches")
        )
    else:
        for i, branch in enumerate(branches):
            ctx.container(branch, at(location, "Branches", i), asl.CONTAINER)


def _check_map(ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets) -> None:
    report = ctx.report
    key = "ItemProcessor" if "ItemProcessor" in state else "Iterator" if "Iterator" in state else None
    if key is None:
        report.schema("These fields are required: [ItemProcessor]", location)
    else:
        processor = state[key]
        where = at(location, key)
        ctx.container(processor, where, asl.PROCESSOR)
        if isinstance(processor, dict):
            _check_processor_config(report, processor.get("ProcessorConfig"), at(where, "ProcessorConfig"))
    for part, fields in asl.DISTRIBUTED_PARTS.items():
        if isinstance(state.get(part), dict):
            _check_part(ctx, state[part], at(location, part), fields, language)
    processor = state.get(key) if key is not None else None
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    check_distributed(report, state, location, config.get("Mode") if isinstance(config, dict) else None)
    if (
        isinstance(config, dict)
        and config.get("Mode") == "DISTRIBUTED"
        and config.get("ExecutionType") == "EXPRESS"
    ):
        assert isinstance(processor, dict) and key is not None  # config came from it
        for diagnostic in express_processor_diagnostics(processor, at(location, key)):
            report.schema(diagnostic.message, diagnostic.location)
    percentage = state.get("ToleratedFailurePercentage")
    if (
        isinstance(percentage, (int, float))
        and not isinstance(percentage, bool)
        and not 0 <= percentage <= 100
    ):
        report.schema(
            "The value for the field 'ToleratedFailurePercentage' must be between 0 and 100",
            at(location, "ToleratedFailurePercentage"),
        )
    label = state.get("Label")
    if isinstance(label, str) and (
        len(label) > asl.MAX_LABEL or any(c in _LABEL_FORBIDDEN or ord(c) < 32 for c in label)
    ):
        report.add(
            "INVALID_LABEL_NAME",
            "The value for the field 'Label' is not a valid label",
            at(location, "Label"),
        )


def _check_part(
    ctx: StateContext, part: dict[str, Any], location: str, fields: dict[str, Kind], language: str
) -> None:
    """ItemReader, ItemBatcher or ResultWriter: known fields, each by its kind and query language."""
    if "Resource" in fields and "Resource" not in part:
        ctx.report.schema("These fields are required: [Resource]", location)
    for key, value in part.items():
        kind = fields.get(key)
        if kind is None:
            ctx.report.schema(f"Field '{key}' is not supported", location)
        elif _language_allows(ctx.report, key, language, location):
            _check_field(ctx, key, kind, value, at(location, key), language, [])
    config = part.get("ReaderConfig")
    if isinstance(config, dict):
        for key in config:
            if key not in asl.READER_CONFIG:
                ctx.report.schema(f"Field '{key}' is not supported", at(location, "ReaderConfig"))


_LABEL_FORBIDDEN = frozenset(' <>{}[]?*"#%\\^|~`$&,;:/')


def _check_processor_config(report: Report, config: Any, location: str) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        report.schema("The value for the field 'ProcessorConfig' must be an object", location)
        return
    for key, value in config.items():
        allowed = {"Mode": asl.PROCESSOR_MODES, "ExecutionType": asl.EXECUTION_TYPES}.get(key)
        if allowed is None:
            report.schema(f"Field '{key}' is not supported", location)
        elif value not in allowed:
            report.schema(
                f"The value for the field '{key}' must be one of {list(allowed)}", at(location, key)
            )


def _check_choice(
    ctx: StateContext, state: dict[str, Any], location: str, language: str, out: Targets
) -> None:
    check_choices(ctx.report, state, location, language, out)
