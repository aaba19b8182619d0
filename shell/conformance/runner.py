"""Running one case the way the API would: create (validate), start (check), run, then compare.

Every case goes through the same pipeline; its ``kind`` only says where AWS stopped (create_error
after creation, start_error after the start request, validate after validation). Executions run on
the local host (``statemachine.local.run_local``) with the case's functions as in-process handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shell.conformance.cases import Case
from shell.conformance.compare import Difference, Matcher, compare_history
from shell.conformance.functions import RECORDED_ACCOUNT, InProcessInvoker
from statemachine import (
    JSON,
    Diagnostic,
    check_start,
    invalid_definition_message,
    run_local,
    validate_definition_text,
)

RECORDING_CLOCK = datetime(2024, 1, 1, tzinfo=UTC)
"""The recorder froze its clock here; inputs computed from "now" (time-relative cases) assume it,
so executions start at this instant too."""

BASE_TIMEOUT_SECONDS = 20.0
"""How long an execution may run beyond its case's own waits before it counts as still RUNNING."""

STATE_MACHINE_NAME = "conformance"


@dataclass(frozen=True, slots=True)
class Actual:
    """What Stepline did with the case, in the shape of ``Case.expected``."""

    status: str
    output: JSON = None
    error: str | None = None
    cause: JSON = None
    history: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's outcome."""

    case: Case
    actual: Actual
    differences: tuple[Difference, ...]
    seconds: float
    crash: str | None = None
    """The traceback when the engine itself raised (a bug, not an ASL error)."""

    @property
    def passed(self) -> bool:
        return self.crash is None and not any(not d.warning for d in self.differences)


@dataclass(slots=True)
class _Clock:
    started: float = field(default_factory=time.perf_counter)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


async def run_cases(cases: Sequence[Case], concurrency: int = 32) -> list[CaseResult]:
    """Run cases concurrently (most finish in milliseconds; a few wait on timers or timeouts)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> CaseResult:
        async with gate:
            return await run_case(case)

    return list(await asyncio.gather(*(one(c) for c in cases)))


async def run_case(case: Case) -> CaseResult:
    """Run one case and compare it with what AWS recorded."""
    clock = _Clock()
    crash: str | None = None
    try:
        actual = await _perform(case)
    except Exception as exc:
        crash = traceback.format_exc()
        actual = Actual("CRASHED", error=type(exc).__name__, cause=str(exc))
    return CaseResult(case, actual, tuple(compare(case, actual)), clock.elapsed(), crash)


async def _perform(case: Case) -> Actual:
    diagnostics = validate_definition_text(case.definition_text)
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    if case.kind == "validate":
        result = "FAIL" if errors else "OK"
        output: dict[str, JSON] = {
            "result": result,
            "diagnostics": [_diagnostic_json(d) for d in diagnostics],
            "truncated": False,
        }
        return Actual(result, output=output)
    if errors:
        return Actual("CREATE_FAILED", error="InvalidDefinition", cause=invalid_definition_message(errors))
    if case.kind == "create_error":
        return Actual("CREATED")
    refused = check_start(case.state_machine_type, case.input_text, case.sync)
    if refused is not None:
        return Actual("START_FAILED", error=refused.code, cause=refused.message)
    if case.kind == "start_error":
        return Actual("STARTED")
    return await _execute(case)


async def _execute(case: Case) -> Actual:
    invoker = InProcessInvoker.from_behaviours(
        (f.name, f.behaviour_kind, f.behaviour) for f in case.functions
    )
    text = case.input_text
    definition = case.definition if isinstance(case.definition, dict) else case.definition_text
    execution = run_local(
        definition,
        json.loads(text) if text is not None else {},
        invoker=invoker,
        state_machine_name=STATE_MACHINE_NAME,
        execution_name=str(uuid.uuid4()),
        start_time=RECORDING_CLOCK,
        state_machine_type=case.state_machine_type,
        account=RECORDED_ACCOUNT,
    )
    try:
        run = await asyncio.wait_for(_awaited(execution), BASE_TIMEOUT_SECONDS + 2 * case.wait_budget_seconds)
    except TimeoutError:
        return Actual("RUNNING")
    outcome = run.outcome
    return Actual(
        status=str(outcome.status),
        output=outcome.output,
        error=outcome.error,
        cause=outcome.cause,
        history=tuple(event.type for event in run.history),
    )


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _diagnostic_json(d: Diagnostic) -> dict[str, JSON]:
    out: dict[str, JSON] = {"code": d.code, "message": d.message, "severity": d.severity}
    if d.location:
        out["location"] = d.location
    return out


def compare(case: Case, actual: Actual) -> list[Difference]:
    """Every difference between the case's expectation and ``actual`` (corpus README rules 1-5)."""
    expected = case.expected
    matcher = Matcher(
        case.placeholders, case.replacements, case.regex_transformers, case.accept_decoded_strings
    )
    diffs: list[Difference] = []
    if expected.status != actual.status:
        diffs.append(Difference("status", "", expected.status, actual.status))
    if expected.status == "RUNNING":
        if case.expected_history_types is not None and actual.history is not None:
            diffs += compare_history(case.expected_history_types, actual.history, prefix_only=True)
        return diffs
    if expected.output_format == "text":
        text = actual.output if isinstance(actual.output, str) else json.dumps(actual.output)
        diffs += matcher.compare("output", "/expected/output", expected.output, text)
    else:
        diffs += matcher.compare("output", "/expected/output", expected.output, actual.output)
    if expected.error != actual.error:
        diffs.append(Difference("error", "", expected.error, actual.error))
    diffs += _compare_cause(case, matcher, actual.cause)
    if case.expected_history_types is not None and actual.history is not None:
        diffs += compare_history(
            case.expected_history_types,
            actual.history,
            prefix_only=False,
            parallel_sorted=case.parallel_events_sorted,
        )
    return diffs


_CREATE_PREFIX = "Invalid State Machine Definition: '"


def _compare_cause(case: Case, matcher: Matcher, actual: JSON) -> list[Difference]:
    expected = case.expected.cause
    if expected in (None, ""):
        return [] if actual in (None, "") else [Difference("cause", "", expected, actual)]
    if isinstance(expected, (dict, list)) and isinstance(actual, str):
        with contextlib.suppress(json.JSONDecodeError):
            actual = json.loads(actual)
    diffs = matcher.compare("cause", "/expected/cause", expected, actual)
    if not diffs or not isinstance(expected, str):
        return diffs
    if expected.startswith(_CREATE_PREFIX) and isinstance(actual, str):
        inner = expected[len(_CREATE_PREFIX) :].removesuffix("'")
        if inner in actual:
            return []
    if "(Service: AWSLambda;" in expected:
        return [
            Difference(d.field, d.location, d.expected, d.actual, "Lambda service text", warning=True)
            for d in diffs
        ]
    return diffs
