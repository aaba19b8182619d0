"""The ASL interpreter: walks an ``ir.Program`` through a ``Host``, recording Step Functions history.

Deterministic given the host (no clock, no randomness, no threads: asyncio tasks only), so the same
code runs in tests, in-process and inside a Temporal workflow. Cancellation propagates untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing
from collections import ChainMap
from typing import Any, assert_never

from statemachine import branches, choice, dataflow, ir, states, tasks
from statemachine.context import ExecutionContext, ExecutionOutcome, Frame, Run, StateContext, entered_details
from statemachine.errors import StatesError
from statemachine.faults import HEARTBEAT_TIMEOUT, RUNTIME, TIMEOUT, EvaluationFault, with_state
from statemachine.history import NOT_TRUNCATED, History
from statemachine.host import Host
from statemachine.intrinsics import IntrinsicEffects
from statemachine.json_types import JSON
from statemachine.limits import Limits
from statemachine.mocks import TestCase
from statemachine.redrive import Resume
from statemachine.retry import backoff_seconds, error_matches

__all__ = ["ExecutionContext", "ExecutionOutcome", "execute", "run_block"]

_TIMEOUT = object()


async def execute(
    program: ir.Program,
    input: JSON,
    context: ExecutionContext,
    host: Host,
    limits: Limits = Limits(),  # noqa: B008 - frozen, shared default is safe
    resume: Resume | None = None,
    mocks: TestCase | None = None,
) -> ExecutionOutcome:
    """Run one execution to its end and record its whole history through ``host.record``; with
    ``resume``, a redriven attempt: its events follow the last one's, from ExecutionRedriven, and it
    starts at ``resume.state`` with that state's input and variables (``statemachine.redrive``).
    ``mocks``: Task calls its test case mocks (``statemachine.mocks``) make no call."""
    history = History(host, limits.max_history_events)
    effects = IntrinsicEffects(uuid4=host.uuid4, random=host.random)
    run = Run(host, limits, history, context, input, effects, mocks=mocks)
    frame = Frame(run, ChainMap({}))
    first, value = program.block.start_at, input
    if resume is None:
        history.record(
            "ExecutionStarted",
            0,
            "executionStartedEventDetails",
            {"input": input, "inputDetails": NOT_TRUNCATED, "roleArn": context.role_arn},
        )
    else:
        history.last_id = resume.last_event_id
        redriven: dict[str, JSON] = {"redriveCount": resume.redrive_count}
        frame.last_event = history.record(
            "ExecutionRedriven", resume.last_event_id, "executionRedrivenEventDetails", redriven
        )
        frame = Frame(run, ChainMap(dict(resume.variables)), frame.last_event)
        first, value = resume.state, resume.input
        run.redrive_count = resume.redrive_count
        if resume.done:
            run.redriven[resume.state] = dict(resume.done)
        if resume.map_run_arn:
            run.redriven_map_runs[resume.state] = (resume.map_run_arn, resume.map_run_redrive_count)
    try:
        dataflow.check_input_size(input, limits.max_payload_bytes)
        if program.timeout_seconds is None:
            output = await run_block(program.block, value, frame, first)
        else:
            output = await with_timeout(
                run_block(program.block, value, frame, first), program.timeout_seconds, host
            )
    except StatesError as error:
        if error.name == "States.Timeout" and isinstance(error, ExecutionTimeout):
            details: dict[str, JSON] = {"error": error.name}
            history.record("ExecutionTimedOut", frame.last_event, "executionTimedOutEventDetails", details)
            return ExecutionOutcome("TIMED_OUT", None, error.name, None)
        name = error.name or None
        details = {} if name is None else {"error": name}
        if error.cause is not None:
            details["cause"] = error.cause
        history.record("ExecutionFailed", frame.last_event, "executionFailedEventDetails", details)
        return ExecutionOutcome("FAILED", None, name, error.cause)
    history.record(
        "ExecutionSucceeded",
        frame.last_event,
        "executionSucceededEventDetails",
        {"output": output, "outputDetails": NOT_TRUNCATED},
    )
    return ExecutionOutcome("SUCCEEDED", output, None, None)


class ExecutionTimeout(StatesError):
    """The top-level TimeoutSeconds elapsed (or an Express child execution's time limit)."""


async def with_timeout(work: Any, seconds: float, host: Host) -> JSON:
    """Race the run against ``host.sleep`` so that both hosts time out the same way."""
    run_task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(host.sleep(seconds))
    try:
        done, _ = await asyncio.wait({run_task, timer}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        run_task.cancel()
        timer.cancel()
        raise
    if run_task in done:
        timer.cancel()
        output: JSON = run_task.result()
        return output
    run_task.cancel()
    with contextlib.suppress(asyncio.CancelledError, StatesError):
        await run_task
    raise ExecutionTimeout("States.Timeout", None)


async def run_block(block: ir.Block, value: JSON, frame: Frame, start_at: str | None = None) -> JSON:
    """Run states from ``StartAt`` (or ``start_at``) until one ends the block; returns its output.

    Pass, Choice, Succeed and Fail await nothing, so they run as plain calls (``_step``): the chain
    pays no coroutine per state.
    """
    states_ = block.states
    name: str | None = block.start_at if start_at is None else start_at
    while name is not None:
        state = states_[name]
        if isinstance(state, _INSTANT):
            name, value = _step(state, value, frame)
        else:
            name, value = await run_state(state, value, frame)
    return value


_INSTANT = (ir.Pass, ir.Choice, ir.Succeed, ir.Fail)
"""The states that await nothing."""
_ENTERED = {kind: f"{kind.__name__}StateEntered" for kind in typing.get_args(ir.State)}
_EXITED = {kind: f"{kind.__name__}StateExited" for kind in typing.get_args(ir.State)}


def _step(
    state: ir.Pass | ir.Choice | ir.Succeed | ir.Fail, raw: JSON, frame: Frame
) -> tuple[str | None, JSON]:
    """Run one state that awaits nothing: record it, evaluate it. Returns (next state, output)."""
    entered_prev = frame.last_event
    entered = frame.record(
        _ENTERED[type(state)], "stateEnteredEventDetails", entered_details(state.name, raw)
    )
    ctx = StateContext(frame, state.name, frame.run.host.now())
    try:
        match state:
            case ir.Pass():
                output, assigned = _pass(state, raw, frame, ctx)
                return _exit(state, frame, raw, output, assigned)
            case ir.Choice():
                return _choice(state, raw, frame, ctx)
            case ir.Succeed():
                output, assigned = _output_only(state, raw, frame, ctx)
                return _exit(state, frame, raw, output, assigned)
            case ir.Fail():
                raise states.fail_error(state, raw, frame, ctx)
            case _:
                assert_never(state)
    except EvaluationFault as fault:
        raise _located(fault, state, frame, entered, entered_prev) from None


async def run_state(
    state: ir.Wait | ir.Task | ir.Parallel | ir.Map, raw: JSON, frame: Frame
) -> tuple[str | None, JSON]:
    """Run one state that may await: record it, evaluate it, handle Retry/Catch. Returns (next
    state, output)."""
    entered_prev = frame.last_event
    entered = frame.record(
        _ENTERED[type(state)], "stateEnteredEventDetails", entered_details(state.name, raw)
    )
    retryable = not isinstance(state, ir.Wait)
    ctx = StateContext(frame, state.name, frame.run.host.now(), 0 if retryable else None)
    try:
        match state:
            case ir.Wait():
                output, assigned = await states.wait(state, raw, frame, ctx)
                return _exit(state, frame, raw, output, assigned)
            case ir.Task() | ir.Parallel() | ir.Map():
                return await _with_retry(state, raw, frame, ctx, entered, entered_prev)
            case _:
                assert_never(state)
    except EvaluationFault as fault:
        raise _located(fault, state, frame, entered, entered_prev) from None
    except asyncio.CancelledError:
        with contextlib.suppress(StatesError):  # the cancellation must propagate, whatever happens
            frame.record(f"{type(state).__name__}StateAborted")
        raise
    except StatesError:
        if frame.in_parallel and isinstance(state, ir.Task):
            frame.record("TaskStateAborted")
        raise


def _located(
    fault: EvaluationFault, state: ir.State, frame: Frame, entered: int, entered_prev: int
) -> StatesError:
    """The fault with AWS's state prefix; JSONata faults also get an EvaluationFailed event, which
    AWS links to the event before the state was entered."""
    error = with_state(fault, state.name, entered)
    if state.query_language == "JSONata" or fault.location is not None:
        details: dict[str, JSON] = {"error": error.name, "cause": error.cause, "state": state.name}
        if fault.location is not None:
            details["location"] = fault.location
        # AWS links it to the event before the state's entry, except for a Wait's (to the entry).
        previous = entered if isinstance(state, ir.Wait) else entered_prev
        frame.last_event = frame.run.history.record(
            "EvaluationFailed", previous, "evaluationFailedEventDetails", details
        )
    return error


def _exit(
    state: ir.State,
    frame: Frame,
    raw: JSON,
    output: JSON,
    assigned: dict[str, JSON] | None,
    next_: str | None = None,
) -> tuple[str | None, JSON]:
    """Record the state's exit; an output other than its input is checked against the size limit."""
    run = frame.run
    details: dict[str, JSON] = {"name": state.name, "output": output, "outputDetails": NOT_TRUNCATED}
    if assigned is not None:
        details["assignedVariables"] = assigned
        details["assignedVariablesDetails"] = NOT_TRUNCATED
    if output is not raw:
        dataflow.check_size(output, run.limits.max_payload_bytes, state.name)
    frame.record(_EXITED[type(state)], "stateExitedEventDetails", details)
    return (next_ if next_ is not None else state.next), output


def _pass(state: ir.Pass, raw: JSON, frame: Frame, ctx: StateContext) -> tuple[JSON, dict[str, JSON] | None]:
    if state.query_language == "JSONata":
        return _output_only(state, raw, frame, ctx)
    effective = dataflow.select(state.input_path, raw, frame, ctx)
    if state.has_result:
        result = state.result
    elif state.parameters is not None:
        result = dataflow.render(state.parameters, effective, frame, ctx)
    else:
        result = effective
    assigned = dataflow.assignments(state.assign, frame, ctx, result)
    output = dataflow.merge_result(raw, result, state.result_path)
    output = dataflow.select(state.output_path, output, frame, ctx)
    return output, dataflow.apply_assignments(frame, assigned)


def _output_only(
    state: ir.State, raw: JSON, frame: Frame, ctx: StateContext
) -> tuple[JSON, dict[str, JSON] | None]:
    """States without a result (Succeed, Wait, JSONata Pass): Assign, then Output/OutputPath."""
    if state.query_language == "JSONata":
        env = dataflow.bindings(frame, ctx, raw)
        assigned = dataflow.assignments(state.assign, frame, ctx, raw, env)
        output = raw if state.output is None else dataflow.evaluate_jsonata(state.output, env, "Output")
        return output, dataflow.apply_assignments(frame, assigned)
    effective = dataflow.select(state.input_path, raw, frame, ctx)
    assigned = dataflow.assignments(state.assign, frame, ctx, effective)
    output = dataflow.select(state.output_path, effective, frame, ctx)
    return output, dataflow.apply_assignments(frame, assigned)


def _choice(state: ir.Choice, raw: JSON, frame: Frame, ctx: StateContext) -> tuple[str | None, JSON]:
    jsonata = state.query_language == "JSONata"
    env = dataflow.bindings(frame, ctx, raw) if jsonata else None
    effective = raw if jsonata else dataflow.select(state.input_path, raw, frame, ctx)
    target: str | None = None
    branch: ir.ChoiceBranch | None = None
    for candidate in state.choices:
        if candidate.rule is not None:
            holds = choice.evaluate(candidate.rule, dataflow.scope(frame, ctx, effective))
        else:
            holds = states.condition(candidate.condition, env)
        if holds:
            target, branch = candidate.next, candidate
            break
    if target is None:
        if state.default is None:
            raise StatesError("States.NoChoiceMatched", f"No Matches! at state '{state.name}'")
        target = state.default
    assign = branch.assign if branch is not None and branch.assign is not None else state.assign
    if jsonata:
        assigned = dataflow.assignments(assign, frame, ctx, raw, env)
        output_template = branch.output if branch is not None and branch.output is not None else state.output
        output = raw if output_template is None else dataflow.evaluate_jsonata(output_template, env, "Output")
    else:
        assigned = dataflow.assignments(assign, frame, ctx, effective)
        output = dataflow.select(state.output_path, effective, frame, ctx)
    return _exit(state, frame, raw, output, dataflow.apply_assignments(frame, assigned), target)


async def _with_retry(
    state: ir.Task | ir.Parallel | ir.Map,
    raw: JSON,
    frame: Frame,
    ctx: StateContext,
    entered: int,
    entered_prev: int,
) -> tuple[str | None, JSON]:
    run = frame.run
    counts = [0] * len(state.retry)
    while True:
        try:
            match state:
                case ir.Task():
                    output, assigned = await tasks.run_task(state, raw, frame, ctx)
                case ir.Parallel():
                    output, assigned = await branches.run_parallel(state, raw, frame, ctx, run_block)
                case ir.Map():
                    output, assigned = await branches.run_map(state, raw, frame, ctx, run_block)
                case _:
                    assert_never(state)
            return _exit(state, frame, raw, output, assigned)
        except StatesError as raised:
            if isinstance(raised, EvaluationFault):
                error = _located(raised, state, frame, entered, entered_prev)
            else:
                error = raised
            if isinstance(error, states.Terminal):
                raise
            for index, retrier in enumerate(state.retry):
                if error_matches(retrier.error_equals, error.name):
                    if counts[index] < retrier.max_attempts:
                        delay = backoff_seconds(
                            counts[index],
                            retrier.interval_seconds,
                            retrier.backoff_rate,
                            retrier.max_delay_seconds,
                            retrier.full_jitter,
                            run.host.random,
                        )
                        counts[index] += 1
                        ctx = StateContext(frame, state.name, ctx.entered_time, counts[index])
                        if delay > 0:
                            await run.host.sleep(delay)
                        break
                    index = -1
                    break
            else:
                index = -1
            if index >= 0:
                continue
            if not isinstance(state, ir.Task) and error.name != RUNTIME:
                frame.record(f"{type(state).__name__}StateFailed")
            return _catch(state, raw, frame, ctx, error)


def _catch(
    state: ir.Task | ir.Parallel | ir.Map, raw: JSON, frame: Frame, ctx: StateContext, error: StatesError
) -> tuple[str | None, JSON]:
    for catcher in state.catch:
        if not error_matches(catcher.error_equals, error.name):
            continue
        error_output: dict[str, JSON] = {"Error": error.name}
        if error.cause is not None:
            error_output["Cause"] = error.cause
        elif error.name in (TIMEOUT, HEARTBEAT_TIMEOUT):
            error_output["Cause"] = ""
        if state.query_language == "JSONata":
            env = dataflow.bindings(frame, ctx, raw, error_output=error_output)
            assigned = dataflow.assignments(catcher.assign, frame, ctx, raw, env)
            output = (
                error_output
                if catcher.output is None
                else dataflow.evaluate_jsonata(catcher.output, env, "Output")
            )
        else:
            assigned = dataflow.assignments(catcher.assign, frame, ctx, error_output)
            output = dataflow.merge_result(raw, error_output, catcher.result_path)
        return _exit(state, frame, raw, output, dataflow.apply_assignments(frame, assigned), catcher.next)
    raise error
