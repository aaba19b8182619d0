"""Validated ASL JSON -> ``ir.Program``: defaults filled, paths parsed, templates split, once.

The validator has already reported every problem, so this module assumes a well-formed definition;
whatever it still cannot compile raises ``CompileError`` naming the JSON location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statemachine import choice, ir, jsonata
from statemachine.arns import FUNCTION_ARN, LAMBDA_INVOKE
from statemachine.item_io import IoSpec
from statemachine.json_types import JSON
from statemachine.paths import Path, parse_path, parse_reference_path
from statemachine.templates import Template, compile_template, compile_value

_ROOT = parse_path("$")


class CompileError(ValueError):
    """A definition the validator let through but the compiler cannot build; names the location."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        super().__init__(f"{location}: {message}")


def compile_program(definition: Mapping[str, Any]) -> ir.Program:
    """Compile a validated definition.

    Raises:
        CompileError: a field that cannot be compiled (bad path, template or expression).
    """
    language: ir.QueryLanguage = definition.get("QueryLanguage", "JSONPath")
    block = _block(definition, language, "")
    timeout = definition.get("TimeoutSeconds")
    return ir.Program(block, language, timeout, definition.get("Comment"))


def _block(spec: Mapping[str, Any], language: ir.QueryLanguage, where: str) -> ir.Block:
    states = {
        name: _state(name, body, language, f"{where}/States/{name}") for name, body in spec["States"].items()
    }
    return ir.Block(spec["StartAt"], states)


def _state(name: str, spec: Mapping[str, Any], top: ir.QueryLanguage, where: str) -> ir.State:
    try:
        return _build(name, spec, spec.get("QueryLanguage", top), top, where)
    except CompileError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise CompileError(where, str(exc)) from None


def _path(spec: Mapping[str, Any], key: str, default: Path | None = _ROOT) -> Path | None:
    if key not in spec:
        return default
    value = spec[key]
    return None if value is None else parse_path(value)


def _ref_path(spec: Mapping[str, Any], key: str) -> Path | None:
    if key not in spec:
        return _ROOT
    value = spec[key]
    return None if value is None else parse_reference_path(value)


def _batch_limit(batcher: Mapping[str, Any], key: str, language: ir.QueryLanguage) -> tuple[Any, Any, Any]:
    """An ItemBatcher limit as (constant, reference path, JSONata)."""
    constant, expr = _number_or_expr(batcher, key, language)
    return constant, _path(batcher, key + "Path", None), expr


def _io_spec(spec: Any, config: str, jsonpath: bool) -> IoSpec | None:
    """An ItemReader or ResultWriter."""
    if not isinstance(spec, Mapping):
        return None
    key = "Parameters" if jsonpath else "Arguments"
    parameters = (_template if jsonpath else _jsonata_field)(spec, key)
    return IoSpec(str(spec.get("Resource", "")), parameters, not jsonpath, dict(spec.get(config) or {}))


def _template(spec: Mapping[str, Any], key: str) -> Template | None:
    return compile_template(spec[key]) if key in spec else None


def _jsonata(value: JSON) -> Any:
    """A JSONata field: one expression when the whole value is ``{% %}``, else a template."""
    if jsonata.is_expression(value):
        return jsonata.compile_expression(value)
    return jsonata.compile_template(value)


def _jsonata_field(spec: Mapping[str, Any], key: str) -> Any:
    return _jsonata(spec[key]) if key in spec else None


def _assign(spec: Mapping[str, Any], language: ir.QueryLanguage) -> ir.Assign | None:
    if "Assign" not in spec:
        return None
    if language == "JSONata":
        return ir.Assign(jsonata=_jsonata(spec["Assign"]))
    return ir.Assign(jsonpath=compile_template(spec["Assign"]))


def _retriers(spec: Mapping[str, Any]) -> tuple[ir.Retrier, ...]:
    return tuple(
        ir.Retrier(
            error_equals=tuple(r["ErrorEquals"]),
            interval_seconds=r.get("IntervalSeconds", 1),
            max_attempts=r.get("MaxAttempts", 3),
            backoff_rate=r.get("BackoffRate", 2.0),
            max_delay_seconds=r.get("MaxDelaySeconds"),
            full_jitter=r.get("JitterStrategy", "NONE") == "FULL",
        )
        for r in spec.get("Retry", ())
    )


def _catchers(spec: Mapping[str, Any], language: ir.QueryLanguage) -> tuple[ir.Catcher, ...]:
    return tuple(
        ir.Catcher(
            error_equals=tuple(c["ErrorEquals"]),
            next=c["Next"],
            result_path=_ref_path(c, "ResultPath") if language == "JSONPath" else _ROOT,
            output=_jsonata_field(c, "Output") if language == "JSONata" else None,
            assign=_assign(c, language),
        )
        for c in spec.get("Catch", ())
    )


def _number_or_expr(spec: Mapping[str, Any], key: str, language: ir.QueryLanguage) -> tuple[Any, Any]:
    """A numeric field: (constant, JSONata template) — one of them set, or neither."""
    if key not in spec:
        return None, None
    value = spec[key]
    if language == "JSONata" and isinstance(value, str):
        return None, _jsonata(value)
    return value, None


def _build(
    name: str, spec: Mapping[str, Any], language: ir.QueryLanguage, top: ir.QueryLanguage, where: str
) -> ir.State:
    kind = spec["Type"]
    jsonpath = language == "JSONPath"
    common: dict[str, Any] = {
        "name": name,
        "query_language": language,
        "next": spec.get("Next"),
        "input_path": _path(spec, "InputPath") if jsonpath else _ROOT,
        "output_path": _path(spec, "OutputPath") if jsonpath else _ROOT,
        "output": None if jsonpath else _jsonata_field(spec, "Output"),
        "assign": _assign(spec, language),
    }
    io: dict[str, Any] = {}
    if kind in ("Pass", "Task", "Parallel", "Map") and jsonpath:
        io["result_path"] = _ref_path(spec, "ResultPath")
    if kind in ("Task", "Parallel", "Map") and jsonpath:
        io["result_selector"] = _template(spec, "ResultSelector")
    if kind in ("Task", "Parallel", "Map"):
        io["retry"] = _retriers(spec)
        io["catch"] = _catchers(spec, language)
    match kind:
        case "Pass":
            return ir.Pass(
                **common,
                **io,
                parameters=_template(spec, "Parameters") if jsonpath else None,
                result=spec.get("Result"),
                has_result="Result" in spec,
            )
        case "Task":
            return _task(spec, language, common, io)
        case "Choice":
            return ir.Choice(
                **common,
                choices=tuple(_choice_branch(c, language) for c in spec["Choices"]),
                default=spec.get("Default"),
            )
        case "Wait":
            return _wait(spec, language, common)
        case "Succeed":
            return ir.Succeed(**common)
        case "Fail":
            return _fail(spec, language, common)
        case "Parallel":
            return ir.Parallel(
                **common,
                **io,
                branches=tuple(
                    _block(b, top, f"{where}/Branches/{i}") for i, b in enumerate(spec["Branches"])
                ),
                parameters=_template(spec, "Parameters") if jsonpath else None,
                arguments=None if jsonpath else _jsonata_field(spec, "Arguments"),
            )
        case "Map":
            return _map(spec, language, top, common, io, where)
    raise CompileError(where, f"unknown state type {kind!r}")


def _task(
    spec: Mapping[str, Any], language: ir.QueryLanguage, common: dict[str, Any], io: dict[str, Any]
) -> ir.Task:
    resource = spec["Resource"]
    timeout, timeout_expr = _number_or_expr(spec, "TimeoutSeconds", language)
    heartbeat, heartbeat_expr = _number_or_expr(spec, "HeartbeatSeconds", language)
    jsonpath = language == "JSONPath"
    return ir.Task(
        **common,
        **io,
        resource=resource,
        integration=resource == LAMBDA_INVOKE,
        supported=resource == LAMBDA_INVOKE or FUNCTION_ARN.fullmatch(resource) is not None,
        parameters=_template(spec, "Parameters") if jsonpath else None,
        arguments=None if jsonpath else _jsonata_field(spec, "Arguments"),
        timeout_seconds=timeout,
        timeout_seconds_path=_path(spec, "TimeoutSecondsPath", None),
        timeout_seconds_expr=timeout_expr,
        heartbeat_seconds=heartbeat,
        heartbeat_seconds_path=_path(spec, "HeartbeatSecondsPath", None),
        heartbeat_seconds_expr=heartbeat_expr,
    )


def _choice_branch(spec: Mapping[str, Any], language: ir.QueryLanguage) -> ir.ChoiceBranch:
    if language == "JSONata":
        return ir.ChoiceBranch(
            rule=None,
            condition=_jsonata(spec["Condition"]),
            next=spec["Next"],
            output=_jsonata_field(spec, "Output"),
            assign=_assign(spec, language),
        )
    rule_spec = {k: v for k, v in spec.items() if k not in ("Next", "Assign", "Comment")}
    return ir.ChoiceBranch(
        rule=choice.compile_rule(rule_spec),
        condition=None,
        next=spec["Next"],
        assign=_assign(spec, language),
    )


def _wait(spec: Mapping[str, Any], language: ir.QueryLanguage, common: dict[str, Any]) -> ir.Wait:
    seconds, seconds_expr = _number_or_expr(spec, "Seconds", language)
    timestamp = spec.get("Timestamp")
    timestamp_expr = None
    if language == "JSONata" and isinstance(timestamp, str) and timestamp.lstrip().startswith("{%"):
        timestamp, timestamp_expr = None, _jsonata(timestamp)
    return ir.Wait(
        **common,
        seconds=seconds,
        seconds_path=_path(spec, "SecondsPath", None),
        seconds_expr=seconds_expr,
        timestamp=timestamp,
        timestamp_path=_path(spec, "TimestampPath", None),
        timestamp_expr=timestamp_expr,
    )


def _fail(spec: Mapping[str, Any], language: ir.QueryLanguage, common: dict[str, Any]) -> ir.Fail:
    error, cause = spec.get("Error"), spec.get("Cause")
    error_expr = cause_expr = None
    if language == "JSONata":
        if isinstance(error, str) and error.lstrip().startswith("{%"):
            error, error_expr = None, _jsonata(error)
        if isinstance(cause, str) and cause.lstrip().startswith("{%"):
            cause, cause_expr = None, _jsonata(cause)
    return ir.Fail(
        **common,
        error=error,
        error_path=compile_value(spec["ErrorPath"], "ErrorPath") if "ErrorPath" in spec else None,
        error_expr=error_expr,
        cause=cause,
        cause_path=compile_value(spec["CausePath"], "CausePath") if "CausePath" in spec else None,
        cause_expr=cause_expr,
    )


def _map(
    spec: Mapping[str, Any],
    language: ir.QueryLanguage,
    top: ir.QueryLanguage,
    common: dict[str, Any],
    io: dict[str, Any],
    where: str,
) -> ir.Map:
    jsonpath = language == "JSONPath"
    processor_key = "ItemProcessor" if "ItemProcessor" in spec else "Iterator"
    processor_spec = spec[processor_key]
    mode = processor_spec.get("ProcessorConfig", {}).get("Mode", "INLINE")
    selector_key = "ItemSelector" if "ItemSelector" in spec else "Parameters"
    max_concurrency, max_concurrency_expr = _number_or_expr(spec, "MaxConcurrency", language)
    count, count_expr = _number_or_expr(spec, "ToleratedFailureCount", language)
    percentage, percentage_expr = _number_or_expr(spec, "ToleratedFailurePercentage", language)
    batcher = spec.get("ItemBatcher") or {}
    return ir.Map(
        **common,
        **io,
        processor=_block(processor_spec, top, f"{where}/{processor_key}"),
        distributed=mode == "DISTRIBUTED",
        execution_type=str(processor_spec.get("ProcessorConfig", {}).get("ExecutionType", "STANDARD")),
        items_path=_ref_path(spec, "ItemsPath") if jsonpath else _ROOT,
        items=_jsonata_field(spec, "Items") if not jsonpath else None,
        item_selector=_template(spec, selector_key) if jsonpath else None,
        item_selector_jsonata=None if jsonpath else _jsonata_field(spec, selector_key),
        max_concurrency=max_concurrency or 0,
        max_concurrency_path=_path(spec, "MaxConcurrencyPath", None),
        max_concurrency_expr=max_concurrency_expr,
        tolerated_failure_count=count,
        tolerated_failure_count_path=_path(spec, "ToleratedFailureCountPath", None),
        tolerated_failure_count_expr=count_expr,
        tolerated_failure_percentage=percentage,
        tolerated_failure_percentage_path=_path(spec, "ToleratedFailurePercentagePath", None),
        tolerated_failure_percentage_expr=percentage_expr,
        max_items_per_batch=_batch_limit(batcher, "MaxItemsPerBatch", language),
        max_input_bytes_per_batch=_batch_limit(batcher, "MaxInputBytesPerBatch", language),
        batch_input=(_template if jsonpath else _jsonata_field)(batcher, "BatchInput"),
        item_reader=_io_spec(spec.get("ItemReader"), "ReaderConfig", jsonpath),
        result_writer=_io_spec(spec.get("ResultWriter"), "WriterConfig", jsonpath),
        processor_definition={
            "QueryLanguage": top,
            "StartAt": processor_spec["StartAt"],
            "States": processor_spec["States"],
        },
    )
