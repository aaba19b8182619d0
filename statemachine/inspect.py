"""One state's data after each processing stage, computed by the interpreter's own code.

Given a state (by name, in a compiled program), the input it received, what its work produced (a
Task's result, a Parallel's or Map's list of outputs, or the error it raised after its retries) and
the variables in scope, ``inspect_state`` returns the data after InputPath, Parameters or Arguments,
the result, ResultSelector, ResultPath and OutputPath (or Output), the variables the state assigned,
its output, status and next state. Every step calls what the interpreter calls (``dataflow``'s
select/render/merge, the interpreter's own Pass, Choice, Catch and result handling): nothing here
knows a rule of the language. Pure, like the rest of the language: the host is a ``LocalHost`` in
virtual time at the state's entered time, which never runs anything.

Two users: the console's step-through (inputs read back from an execution's history) and Step
Functions' TestState (inputs given by the caller): hence TestState's names for the stages
(``inspectionData``), statuses and inspection levels. TRACE adds nothing to DEBUG yet: it shows an
HTTP Task's request and response, and Task states here invoke functions only.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from statemachine import dataflow, ir
from statemachine.context import ExecutionContext, Frame, Run, StateContext
from statemachine.errors import StatesError
from statemachine.history import History
from statemachine.history_reading import (
    StateStory,
    final_outputs,
    map_iteration_events,
    map_iterations,
    parallel_branches,
)
from statemachine.interpreter import _catch, _choice, _output_only, _pass  # its own steps, not a copy
from statemachine.intrinsics import IntrinsicEffects
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.local import LocalHost
from statemachine.retry import error_matches
from statemachine.states import fail_error

InspectionLevel = Literal["INFO", "DEBUG", "TRACE"]
InspectionStatus = Literal["SUCCEEDED", "FAILED", "CAUGHT_ERROR", "RETRIABLE"]

_NOTHING: Any = object()


@dataclass(frozen=True)
class Stage:
    """The data after one stage; ``name`` is TestState's ``inspectionData`` key, ``field`` the
    definition field that produced it (None for the input and the result)."""

    name: str
    field: str | None
    value: JSON


@dataclass(frozen=True)
class StateWork:
    """What the state met: its input, and what its work produced (for Task, Parallel and Map)."""

    input: JSON
    result: JSON = _NOTHING
    """A Task's result (the decoded payload, or the Invoke API's answer for ``lambda:invoke``); a
    Parallel's or Map's list of outputs. Absent when the work failed or was not recorded."""
    error: StatesError | None = None
    """The error the work raised once its retries were done (None: it did not fail)."""
    variables: Mapping[str, JSON] = field(default_factory=dict)
    """Variables in scope when the state was entered."""
    entered_time: datetime | None = None
    retry_count: int = 0
    """Retries made before this attempt (``$$.State.RetryCount``)."""
    may_retry: bool = False
    """True for TestState (an error a Retrier would take is RETRIABLE); False when replaying a
    history, where the recorded error came after the retries."""


@dataclass(frozen=True)
class Inspection:
    """``inspect_state``'s answer (TestState's output fields, with JSON values)."""

    status: InspectionStatus
    output: JSON = None
    next_state: str | None = None
    error: str | None = None
    cause: str | None = None
    stages: tuple[Stage, ...] = ()
    """In processing order; empty at level INFO."""
    variables: dict[str, JSON] = field(default_factory=dict)
    """The variables the state assigned (their values)."""
    notes: tuple[str, ...] = ()
    """Why a stage is missing (its data was not recorded)."""

    def inspection_data(self) -> dict[str, JSON]:
        """TestState's ``inspectionData`` (values as JSON values, not text)."""
        data: dict[str, JSON] = {s.name: s.value for s in self.stages if s.name != "output"}
        if self.variables:
            data["variables"] = self.variables
        return data


def find_state(block: ir.Block, name: str) -> ir.State | None:
    """The state called ``name`` anywhere in ``block`` (Parallel branches and Map processors too)."""
    pending = [block]
    while pending:
        current = pending.pop()
        found = current.states.get(name)
        if found is not None:
            return found
        for state in current.states.values():
            if isinstance(state, ir.Parallel):
                pending.extend(state.branches)
            elif isinstance(state, ir.Map):
                pending.append(state.processor)
    return None


def branch_start_names(state: ir.State) -> list[str]:
    """A Parallel's branches' ``StartAt`` names, in definition order (empty for other states)."""
    return [branch.start_at for branch in state.branches] if isinstance(state, ir.Parallel) else []


def work_of(state: ir.State, story: StateStory, entered_time: datetime | None = None) -> StateWork:
    """What a state met, as its history recorded it: a Task's result, a Parallel's or Map's outputs
    when every branch or iteration recorded its states (``history_reading.final_outputs``)."""
    result: JSON = story.result if story.has_result else _NOTHING
    if story.error is None and story.exited is not None:
        if isinstance(state, ir.Parallel):
            groups = [events for _, events in parallel_branches(story, branch_start_names(state))]
            collected = final_outputs(groups) if len(groups) == len(state.branches) else None
        elif isinstance(state, ir.Map):
            iterations = map_iterations(story)
            collected = (
                final_outputs([map_iteration_events(story, i.index)[1:-1] for i in iterations])
                if all(i.events_recorded and i.status == "SUCCEEDED" for i in iterations)
                else None
            )
        else:
            collected = None
        if collected is not None:
            result = collected
    error = StatesError(story.error.error or "", story.error.cause) if story.error is not None else None
    return StateWork(story.input, result, error, story.variables, entered_time, story.retry_count)


def inspect_state(
    state: ir.State,
    work: StateWork,
    context: ExecutionContext,
    execution_input: JSON = None,
    level: InspectionLevel = "DEBUG",
) -> Inspection:
    """See the module docstring. Evaluation errors (a path that selects nothing, a JSONata error)
    end the inspection as FAILED with the stages reached so far."""
    entered = work.entered_time or context.start_time
    host = LocalHost(start_time=entered, virtual_time=True, seed=0)
    limits = Limits()
    run = Run(
        host,
        limits,
        History(host, limits.max_history_events, sink=False),
        context,
        execution_input,
        IntrinsicEffects(uuid4=host.uuid4, random=host.random),
    )
    frame = Frame(run, ChainMap({}, dict(work.variables)))
    retryable = isinstance(state, ir.Task | ir.Parallel | ir.Map)
    ctx = StateContext(frame, state.name, entered, work.retry_count if retryable else None)
    stages: list[Stage] = [Stage("input", None, work.input)]
    notes: list[str] = []
    try:
        status, output, next_state = _evaluate(state, work, frame, ctx, stages, notes)
    except StatesError as error:
        return _ended(state, frame, stages, notes, level, "FAILED", error=error)
    return _ended(state, frame, stages, notes, level, status, output=output, next_state=next_state)


def _evaluate(
    state: ir.State, work: StateWork, frame: Frame, ctx: StateContext, stages: list[Stage], notes: list[str]
) -> tuple[InspectionStatus, JSON, str | None]:
    raw = work.input
    jsonata = state.query_language == "JSONata"
    match state:
        case ir.Pass():
            if not jsonata:
                _input_stages(state, raw, frame, ctx, stages)
                result = stages[-1].value if not state.has_result else state.result
                stages.append(Stage("result", "Result" if state.has_result else None, result))
                stages.append(Stage("afterResultPath", "ResultPath", _merged(state, raw, result)))
            output, _ = _pass(state, raw, frame, ctx)
        case ir.Choice():
            if not jsonata:
                stages.append(
                    Stage("afterInputPath", "InputPath", dataflow.select(state.input_path, raw, frame, ctx))
                )
            next_state, output = _choice(state, raw, frame, ctx)
            stages.append(Stage("output", "Output" if jsonata else "OutputPath", output))
            return "SUCCEEDED", output, next_state
        case ir.Wait() | ir.Succeed():
            if not jsonata:
                stages.append(
                    Stage("afterInputPath", "InputPath", dataflow.select(state.input_path, raw, frame, ctx))
                )
            output, _ = _output_only(state, raw, frame, ctx)
        case ir.Fail():
            raise fail_error(state, raw, frame, ctx)
        case ir.Task() | ir.Parallel() | ir.Map():
            return _with_result(state, work, frame, ctx, stages, notes)
    stages.append(Stage("output", "Output" if jsonata else "OutputPath", output))
    return "SUCCEEDED", output, state.next


def _input_stages(
    state: ir.Pass | ir.Task | ir.Parallel | ir.Map,
    raw: JSON,
    frame: Frame,
    ctx: StateContext,
    stages: list[Stage],
) -> None:
    """InputPath then Parameters (JSONPath), or Arguments (JSONata), as the interpreter applies them
    (``tasks.run_task``, ``branches.run_parallel``; a Map's ItemsPath and ItemSelector are per item)."""
    if state.query_language == "JSONata":
        arguments = getattr(state, "arguments", None)
        if arguments is not None:
            env = dataflow.bindings(frame, ctx, raw)
            stages.append(
                Stage("afterArguments", "Arguments", dataflow.evaluate_jsonata(arguments, env, "Arguments"))
            )
        return
    effective = dataflow.select(state.input_path, raw, frame, ctx)
    stages.append(Stage("afterInputPath", "InputPath", effective))
    parameters = None if isinstance(state, ir.Map) else state.parameters
    if parameters is not None:
        stages.append(
            Stage("afterParameters", "Parameters", dataflow.render(parameters, effective, frame, ctx))
        )


def _with_result(
    state: ir.Task | ir.Parallel | ir.Map,
    work: StateWork,
    frame: Frame,
    ctx: StateContext,
    stages: list[Stage],
    notes: list[str],
) -> tuple[InspectionStatus, JSON, str | None]:
    raw = work.input
    _input_stages(state, raw, frame, ctx, stages)
    if work.error is not None:
        error = work.error
        if work.may_retry and any(
            error_matches(r.error_equals, error.name) and work.retry_count < r.max_attempts
            for r in state.retry
        ):
            raise _Retriable(error)
        error_output: dict[str, JSON] = {"Error": error.name}
        if error.cause is not None:
            error_output["Cause"] = error.cause
        stages.append(Stage("errorOutput", None, error_output))
        next_state, output = _catch(state, raw, frame, ctx, error)  # raises the error when nothing catches it
        stages.append(
            Stage("output", "Output" if state.query_language == "JSONata" else "ResultPath", output)
        )
        return "CAUGHT_ERROR", output, next_state
    if work.result is _NOTHING:
        notes.append("the state's result was not recorded, so only its input stages are shown")
        raise _Unrecorded
    stages.append(Stage("result", None, work.result))
    if state.query_language == "JSONPath":
        result = work.result
        if state.result_selector is not None:
            result = dataflow.render(state.result_selector, result, frame, ctx)
            stages.append(Stage("afterResultSelector", "ResultSelector", result))
        stages.append(Stage("afterResultPath", "ResultPath", _merged(state, raw, result)))
    output, _ = dataflow.finish_with_result(state, raw, work.result, frame, ctx)
    stages.append(Stage("output", "Output" if state.query_language == "JSONata" else "OutputPath", output))
    return "SUCCEEDED", output, state.next


def _merged(state: ir.Pass | ir.Task | ir.Parallel | ir.Map, raw: JSON, result: JSON) -> JSON:
    return dataflow.merge_result(raw, result, state.result_path)


class _Retriable(StatesError):
    """The error a Retrier would take (TestState's RETRIABLE)."""

    def __init__(self, error: StatesError) -> None:
        super().__init__(error.name, error.cause)


class _Unrecorded(StatesError):
    """The work's result is unknown: the inspection stops after the input stages."""

    def __init__(self) -> None:
        super().__init__("", None)


def _ended(
    state: ir.State,
    frame: Frame,
    stages: list[Stage],
    notes: list[str],
    level: InspectionLevel,
    status: InspectionStatus,
    *,
    output: JSON = None,
    next_state: str | None = None,
    error: StatesError | None = None,
) -> Inspection:
    variables = dict(frame.variables.maps[0])
    shown = tuple(stages) if level != "INFO" else ()
    if isinstance(error, _Unrecorded):
        return Inspection("SUCCEEDED", stages=shown, variables=variables, notes=tuple(notes))
    if isinstance(error, _Retriable):
        status = "RETRIABLE"
    name = error.name or None if error is not None else None
    cause = error.cause if error is not None else None
    return Inspection(status, output, next_state, name, cause, shown, variables, tuple(notes))
